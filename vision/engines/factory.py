"""Opening the engine a :class:`vision.providers.Backend` names."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Literal

from domain.errors import ModelError
from vision.engines import Engine, Mode, file_sha256
from vision.engines.ort_engine import OrtEngine
from vision.engines.tuning import fastest_cpu_engine
from vision.providers import Backend


def _openvino(path: Path, precision: Literal["fp32", "bf16"], threads: int, mode: Mode) -> Engine:
    try:
        from vision.engines.ov_engine import OpenVinoEngine  # OpenVINO is imported only when used
    except ImportError as exc:  # installed but unloadable (a wheel built for another glibc...)
        raise ModelError(f"OpenVINO cannot be loaded: {exc}") from None
    engine = OpenVinoEngine(path, precision, threads, mode)
    if engine.quantized:
        raise ModelError(f"{path} is an INT8 (QDQ) model, which OpenVINO runs wrongly; use --providers cpu")
    return engine


def open_engine(
    path: Path,
    backend: Backend,
    threads: int = 0,
    mode: Mode = "latency",
    tuning_cache: Path | None = None,
    model_sha256: str = "",
) -> Engine:
    """Load ``path`` on ``backend`` with ``threads`` CPU threads (0: one per physical core).

    ``mode`` tunes OpenVINO for ``latency`` (one request on all threads) or ``throughput`` (parallel requests);
    onnxruntime runs a batch on all its intra-op threads either way. A backend to ``tune`` runs on whichever of
    onnxruntime and OpenVINO FP32 is faster for this model here (:mod:`vision.engines.tuning`), the choice kept in
    ``tuning_cache`` (a JSON file) where one is given, under the model's ``model_sha256`` (hashed here if not
    given).

    Raises:
        ModelError: the model cannot be loaded, OpenVINO cannot be imported, or an INT8 (QDQ) model was sent to
            OpenVINO, which runs such files wrongly (:mod:`vision.engines.ov_engine`).
    """
    if backend.runtime == "openvino":
        return _openvino(path, backend.precision, threads, mode)
    if backend.tune:
        engine, _ = fastest_cpu_engine(
            path,
            lambda: OrtEngine(path, backend.providers, threads),
            lambda: _openvino(path, "fp32", threads, mode),
            model_sha256=model_sha256 or file_sha256(path),
            threads=threads,
            mode=mode,
            openvino_version=version("openvino"),
            cache=tuning_cache,
        )
        return engine
    return OrtEngine(path, backend.providers, threads)
