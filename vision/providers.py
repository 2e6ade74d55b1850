"""Choice of inference runtime, execution providers and precision.

``auto`` picks onnxruntime on TensorRT, then CUDA, where the installed onnxruntime offers them. On a CPU it picks
by measurement: where OpenVINO is installed, the model is loaded on both onnxruntime's CPU provider and OpenVINO
(FP32) and the faster one is kept (:mod:`vision.engines.tuning`), because which one wins depends on the CPU, the
model and the threads (bench/README.md: on an AMD EPYC with AVX-512 VNNI and BF16, OpenVINO FP32 was no faster,
34.5 against 33.7 ms for yolo26n at 640 on 2 threads; capped at AVX2 it was slower). Precision stays FP32
unless BF16 is asked for (where the CPU computes it natively): BF16 cost the shipped model 0.57 AP50 points on
bin_overflow on the test split, past the 0.5-point accuracy gate (models/gridwatch-yolo26n.md, "Runtimes").
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import onnxruntime as ort

from domain.errors import ModelError

# Fastest first; "auto" takes every one of these the installed runtime offers.
PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
ALIASES = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
PRECISIONS = ("auto", "fp32", "bf16")

Runtime = Literal["onnxruntime", "openvino"]


@dataclass(frozen=True)
class Backend:
    """What runs a model.

    Attributes:
        runtime: ``"onnxruntime"`` or ``"openvino"``.
        providers: onnxruntime execution providers, fastest first (empty for OpenVINO).
        precision: ``"fp32"`` or ``"bf16"`` (OpenVINO only).
        tune: onnxruntime on the CPU, to be measured against OpenVINO FP32 and replaced by it where OpenVINO is
            faster for the model here (``auto`` on a machine without a GPU provider).
    """

    runtime: Runtime
    providers: tuple[str, ...] = ()
    precision: Literal["fp32", "bf16"] = "fp32"
    tune: bool = False


@cache
def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """This CPU's feature flags (x86 ``flags``, Arm ``Features``), lower case; empty where the OS does not say."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return frozenset(value.lower().split())
    return frozenset()


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def native_precisions() -> frozenset[str]:
    """Precisions OpenVINO's CPU plugin computes natively here: ``"fp32"``, and ``"bf16"``, ``"int8"`` where the CPU
    has them (BF16: AVX-512 BF16 or AMX; INT8: VNNI or AVX2)."""
    import openvino as ov

    caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return frozenset(c.lower() for c in caps if c in ("BF16", "INT8")) | {"fp32"}


def resolve_providers(request: str | Sequence[str] = "auto") -> list[str]:
    """Turn ``"auto"``, a short name (``cpu``, ``cuda``, ``tensorrt``), a comma-separated list of them,
    or full provider names into the ordered list onnxruntime takes.

    Raises:
        ModelError: a named provider is unknown or not offered by the installed onnxruntime.
    """
    available = ort.get_available_providers()
    if request == "auto":
        return [p for p in PREFERENCE if p in available]
    names = request.split(",") if isinstance(request, str) else list(request)
    chosen = [ALIASES.get(n.strip().lower(), n.strip()) for n in names if n.strip()]
    if not chosen:
        raise ModelError("no execution provider named")
    missing = [p for p in chosen if p not in available]
    if missing:
        raise ModelError(
            f"execution provider(s) {missing} not available in this onnxruntime build; available: {available}"
            + (" (install the [gpu] extra for CUDA/TensorRT)" if "CUDAExecutionProvider" not in available else "")
        )
    # CPU stays last as the fallback for operators a GPU provider cannot run
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def choose_backend(request: str | Sequence[str] = "auto", precision: str = "auto") -> Backend:
    """The backend for ``request`` (``auto``, ``openvino``, or onnxruntime providers as :func:`resolve_providers`
    takes them) at ``precision`` (``auto``, ``fp32``, ``bf16``).

    Raises:
        ModelError: an unknown or unavailable provider or precision, or BF16 asked of onnxruntime.
    """
    if precision not in PRECISIONS:
        raise ModelError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if request == "auto":
        if precision == "bf16":
            raise ModelError("BF16 runs on OpenVINO only (--providers openvino)")
        providers = tuple(resolve_providers("auto"))
        on_cpu = providers == ("CPUExecutionProvider",)
        return Backend("onnxruntime", providers, tune=on_cpu and openvino_installed())
    if isinstance(request, str) and request.strip().lower() == "openvino":
        if not openvino_installed():
            raise ModelError("OpenVINO is not installed (pip install openvino)")
        if precision == "auto":
            return Backend("openvino", precision="fp32")
        native = native_precisions()
        if precision not in native:
            raise ModelError(f"this CPU computes no {precision} natively; OpenVINO offers {sorted(native)}")
        return Backend("openvino", precision="bf16" if precision == "bf16" else "fp32")
    if precision == "bf16":
        raise ModelError("BF16 runs on OpenVINO only (--providers openvino)")
    return Backend("onnxruntime", tuple(resolve_providers(request)))
