"""Inference runtimes behind :class:`vision.detector.Detector`: one interface over onnxruntime (CPU, CUDA, TensorRT)
and OpenVINO (CPU), both reading the same ``.onnx`` files."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

Shape = tuple[int | None, ...]
"""A tensor shape; None for a dynamic axis."""

Mode = Literal["latency", "throughput"]
"""Tuning: ``latency`` (a camera frame as soon as possible) or ``throughput`` (photo batches)."""


class Engine(Protocol):
    """A loaded network, ready to run.

    Attributes:
        runtime: ``"onnxruntime"`` or ``"openvino"``.
        devices: what runs it, fastest first: onnxruntime provider names, or ``"CPU:<precision>"`` for OpenVINO.
        metadata: the ONNX file's metadata (names, imgsz, stride, thresholds...), key -> string.
        input_shape: (B, 3, H, W) of the image input, None for dynamic axes.
        output_shape: (B, rows, columns) of the head output, None for dynamic axes.
        input_dtype: float32, or float16 for half-precision exports.
    """

    runtime: str
    devices: list[str]
    metadata: Mapping[str, str]
    input_shape: Shape
    output_shape: Shape
    input_dtype: type[np.floating]

    def run(self, blob: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """The head output (B, rows, columns) for an input (B, 3, H, W) of ``input_dtype``; thread-safe."""
        ...


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a model file: the identity of the exact model version (reports, the runtime-choice cache)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
