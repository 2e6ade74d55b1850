"""Choice of ONNX Runtime execution providers."""

from __future__ import annotations

from collections.abc import Sequence

import onnxruntime as ort

from domain.errors import ModelError

# Fastest first; "auto" takes every one of these the installed runtime offers.
PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
ALIASES = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}


def resolve_providers(request: str | Sequence[str] = "auto") -> list[str]:
    """Turn ``"auto"``, a short name (``cpu``, ``cuda``, ``tensorrt``), a comma-separated list of them,
    or full provider names into the ordered list onnxruntime takes.

    Raises:
        ValueError: a named provider is unknown or not offered by the installed onnxruntime.
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
