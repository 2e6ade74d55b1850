"""Reviewed ground truth: boxes checked by eye for a few labels on named images of one split.

A reviewed file (``datasets/reviewed/*.json``) replaces the dataset's boxes of its labels on its images,
for ``gridwatch eval --reviewed FILE``: only those images are evaluated, only the file's labels are scored
(on every one of its images, since each was reviewed for all of them), and detections lying mostly inside
an ``ignore`` box (a vehicle too small, occluded or ambiguous to box) are dropped before scoring, so they
count neither as hits nor as false alarms.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from datasets.reviewed_boxes import ReviewedFile, load_reviewed_file
from training.detections import SplitDetections
from vision.metrics import ImageEval

SCHEMA_VERSION = 1
IGNORE_INSIDE = 0.5  # a detection is dropped when at least this share of its area lies inside an ignore box


class ReviewedLabels(ReviewedFile):
    """A reviewed ground-truth file for one split of a built dataset, keyed by the dataset's image file names."""

    split: Literal["train", "val", "test"]


def load_reviewed(path: Path) -> ReviewedLabels:
    """Read and validate a reviewed file of a split.

    Raises:
        ValueError: naming the file, for unreadable JSON or anything the schema refuses.
    """
    return load_reviewed_file(path, ReviewedLabels)


def inside_fraction(boxes: npt.ArrayLike, regions: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Share of each box's area inside its most-covering region.

    Args:
        boxes: (N, 4) xyxy boxes.
        regions: (K, 4) xyxy regions.

    Returns:
        (N,) fractions in [0, 1]; 0 for empty boxes and when there is no region.
    """
    a = np.asarray(boxes, np.float64).reshape(-1, 4)
    r = np.asarray(regions, np.float64).reshape(-1, 4)
    if len(r) == 0:
        return np.zeros(len(a))
    lt = np.maximum(a[:, None, :2], r[None, :, :2])
    rb = np.minimum(a[:, None, 2:], r[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2).max(axis=1)  # (N,)
    area = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    return np.asarray(np.divide(inter, area, out=np.zeros_like(inter), where=area > 0), np.float64)


def apply_reviewed(found: SplitDetections, reviewed: ReviewedLabels) -> SplitDetections:
    """Restrict a split's detections to the reviewed images and score only the reviewed labels there.

    On each reviewed image the dataset's boxes of the file's labels are replaced by the reviewed ones, the
    labels outside the file are not evaluated, and detections of the file's labels with at least
    :data:`IGNORE_INSIDE` of their area inside an ignore box are dropped.

    Args:
        found: the whole split's ground truth and one model's detections (:func:`training.evaluate.detect_split`).
        reviewed: the reviewed file.

    Returns:
        The reviewed images only, in split order; ``in_model`` keeps only the file's labels.

    Raises:
        ValueError: a file label the dataset lacks, or reviewed images missing from the split (named).
    """
    names = found.names
    missing_labels = [n for n in reviewed.labels if n not in names]
    if missing_labels:
        raise ValueError(f"the dataset has no labels {missing_labels}")
    by_name = {path.name: i for i, path in enumerate(found.paths)}
    missing = sorted(set(reviewed.images) - set(by_name))
    if missing:
        raise ValueError(f"{len(missing)} reviewed images are not in this split: {', '.join(missing)}")
    scored = np.array([n in reviewed.labels for n in names], dtype=bool)  # (C,)
    index = {n: c for c, n in enumerate(names)}
    images: list[ImageEval] = []
    paths: list[Path] = []
    for i in sorted(by_name[name] for name in reviewed.images):
        im, path = found.images[i], found.paths[i]
        rev = reviewed.images[path.name]
        gt_class = np.asarray(im.gt_class, np.int64).reshape(-1)
        keep_gt = ~scored[gt_class]  # dataset boxes of other labels stay (they are not scored anyway)
        rev_class = np.array([index[box[0]] for box in rev.boxes], np.int64)
        rev_xyxy = np.array([box[1:] for box in rev.boxes], np.float64).reshape(-1, 4)
        det_class = np.asarray(im.det_class, np.int64).reshape(-1)
        det_xyxy = np.asarray(im.det_xyxy, np.float64).reshape(-1, 4)
        ignored = scored[det_class] & (inside_fraction(det_xyxy, rev.ignore) >= IGNORE_INSIDE)
        images.append(
            ImageEval(
                gt_xyxy=np.concatenate((np.asarray(im.gt_xyxy, np.float64).reshape(-1, 4)[keep_gt], rev_xyxy)),
                gt_class=np.concatenate((gt_class[keep_gt], rev_class)),
                det_xyxy=det_xyxy[~ignored],
                det_score=np.asarray(im.det_score, np.float64).reshape(-1)[~ignored],
                det_class=det_class[~ignored],
                labelled=scored & found.in_model,
            )
        )
        paths.append(path)
    return replace(found, in_model=found.in_model & scored, images=images, paths=paths)
