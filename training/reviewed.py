"""Reviewed ground truth: boxes checked by eye for a few labels on named images of one split.

A reviewed file (``datasets/reviewed/*.json``) replaces the dataset's boxes of its labels on its images,
for ``gridwatch eval --reviewed FILE``: only those images are evaluated, only the file's labels are scored
(on every one of its images, since each was reviewed for all of them), and detections lying mostly inside
an ``ignore`` box (a vehicle too small, occluded or ambiguous to box) are dropped before scoring, so they
count neither as hits nor as false alarms.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.taxonomy import LABEL_NAMES
from training.evaluate import SplitDetections
from vision.metrics import ImageEval

SCHEMA_VERSION = 1
IGNORE_INSIDE = 0.5  # a detection is dropped when at least this share of its area lies inside an ignore box

Coord = Annotated[float, Field(ge=0, allow_inf_nan=False)]
LabelledBox = tuple[str, Coord, Coord, Coord, Coord]
IgnoreBox = tuple[Coord, Coord, Coord, Coord]


def _check_corners(x1: float, y1: float, x2: float, y2: float) -> None:
    if not (x1 < x2 and y1 < y2):
        raise ValueError(f"box [{x1}, {y1}, {x2}, {y2}] needs x1 < x2 and y1 < y2")


class ReviewedImage(BaseModel):
    """The reviewed boxes of one image, in the photo's (upright) pixels.

    An empty ``boxes`` list means "reviewed: none of the file's labels is present" outside the ignore boxes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    boxes: list[LabelledBox] = Field(description="[label, x1, y1, x2, y2] per object")
    ignore: list[IgnoreBox] = Field(default_factory=list, description="[x1, y1, x2, y2] regions not scored")

    @field_validator("boxes")
    @classmethod
    def _boxes_ordered(cls, boxes: list[LabelledBox]) -> list[LabelledBox]:
        for _, *corners in boxes:
            _check_corners(*corners)
        return boxes

    @field_validator("ignore")
    @classmethod
    def _ignore_ordered(cls, boxes: list[IgnoreBox]) -> list[IgnoreBox]:
        for corners in boxes:
            _check_corners(*corners)
        return boxes


class ReviewedLabels(BaseModel):
    """A reviewed ground-truth file: which labels it covers, how it was made, and the boxes per image file name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    split: Literal["train", "val", "test"]
    labels: list[str] = Field(min_length=1, description="labels reviewed exhaustively on every listed image")
    conventions: dict[str, str] = Field(default_factory=dict, description="what each label covers")
    made_by: str = Field(min_length=1, description="who or what reviewed the boxes")
    method: str = Field(min_length=1, description="how the boxes were found and checked")
    empty_boxes: str = Field(min_length=1, description="what an image with an empty box list means")
    images: dict[str, ReviewedImage] = Field(min_length=1, description="dataset image file name -> boxes")

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, labels: list[str]) -> list[str]:
        unknown = [n for n in labels if n not in LABEL_NAMES]
        if unknown:
            raise ValueError(f"unknown labels {unknown}; taxonomy labels: {list(LABEL_NAMES)}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"duplicate labels in {labels}")
        return labels

    @model_validator(mode="after")
    def _boxes_use_the_labels(self) -> ReviewedLabels:
        for name, image in self.images.items():
            stray = sorted({box[0] for box in image.boxes} - set(self.labels))
            if stray:
                raise ValueError(f"{name}: boxes labelled {stray}, not among the file's labels {self.labels}")
        unknown = sorted(set(self.conventions) - set(self.labels))
        if unknown:
            raise ValueError(f"conventions for labels the file does not cover: {unknown}")
        return self


def load_reviewed(path: Path) -> ReviewedLabels:
    """Read and validate a reviewed file.

    Raises:
        ValueError: naming the file, for unreadable JSON or anything the schema refuses.
    """
    try:
        return ReviewedLabels.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"{path}: not a valid reviewed file: {exc}") from None


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
