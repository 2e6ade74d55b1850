"""The name of the exact weights a case came from, as the store keeps it."""

from __future__ import annotations

from vision.detector import Detector

MODEL_VERSION_CHARS = 128  # the store's model_version column


def model_version(detector: Detector) -> str:
    """``<model file name>@<first 12 hex digits of its sha256>``: names the exact weights a case came from."""
    suffix = f"@{detector.info.sha256[:12]}"
    return detector.path.name[: MODEL_VERSION_CHARS - len(suffix)] + suffix
