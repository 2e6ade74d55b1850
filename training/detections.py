"""A split's ground truth next to one model's detections: what evaluation computes once and calibration, reviewed
ground truth and failure examples read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vision.metrics import ImageEval


@dataclass(frozen=True)
class SplitDetections:
    """A split's ground truth next to one model's detections, in the dataset's label space.

    Attributes:
        names: (C) dataset label names.
        in_model: (C,) True for labels the model also has.
        images: per image, ground truth and the detections of shared labels (dataset label indices).
        paths: image files, parallel to ``images``.
    """

    names: tuple[str, ...]
    in_model: npt.NDArray[np.bool_]
    images: list[ImageEval]
    paths: list[Path]
