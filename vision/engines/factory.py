"""Opening the engine a :class:`vision.providers.Backend` names."""

from __future__ import annotations

from pathlib import Path

from domain.errors import ModelError
from vision.engines import Engine, Mode
from vision.engines.ort_engine import OrtEngine
from vision.providers import Backend


def open_engine(path: Path, backend: Backend, threads: int = 0, mode: Mode = "latency") -> Engine:
    """Load ``path`` on ``backend`` with ``threads`` CPU threads (0: one per physical core).

    ``mode`` tunes OpenVINO for ``latency`` (one request on all threads) or ``throughput`` (parallel requests);
    onnxruntime runs a batch on all its intra-op threads either way.

    Raises:
        ModelError: the model cannot be loaded, OpenVINO cannot be imported, or an INT8 (QDQ) model was sent to
            OpenVINO, which runs such files wrongly (:mod:`vision.engines.ov_engine`).
    """
    if backend.runtime == "openvino":
        try:
            from vision.engines.ov_engine import OpenVinoEngine  # OpenVINO is imported only when used
        except ImportError as exc:  # installed but unloadable (a wheel built for another glibc...)
            raise ModelError(f"OpenVINO cannot be loaded: {exc}") from None
        engine = OpenVinoEngine(path, backend.precision, threads, mode)
        if engine.quantized:
            raise ModelError(f"{path} is an INT8 (QDQ) model, which OpenVINO runs wrongly; use --providers cpu")
        return engine
    return OrtEngine(path, backend.providers, threads)
