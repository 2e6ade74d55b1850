"""Boxes checked by eye: the schema shared by reviewed test sets and by sources boxed here.

A reviewed file lists, per image file name, boxes of a few labels in the photo's upright pixels and ``ignore``
regions too ambiguous to box; every listed image was reviewed for every one of the file's labels. Two kinds
use it: ground truth for a split of a built dataset (``training/reviewed.py``), and the boxes of a source that
came with image-level tags only (``ReviewedSource``: ``datasets/reviewed/amsterdam_reports.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.taxonomy import LABEL_NAMES

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
    tags: list[str] = Field(
        default_factory=list, description="image-level notes in the file's `tag_meanings`, e.g. legal_text"
    )

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


class ReviewedFile(BaseModel):
    """What every reviewed file says: its labels, who reviewed and how, and the boxes per image file name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    labels: list[str] = Field(min_length=1, description="labels reviewed exhaustively on every listed image")
    conventions: dict[str, str] = Field(default_factory=dict, description="what each label covers")
    made_by: str = Field(min_length=1, description="who or what reviewed the boxes")
    method: str = Field(min_length=1, description="how the boxes were found and checked")
    empty_boxes: str = Field(min_length=1, description="what an image with an empty box list means")
    images: dict[str, ReviewedImage] = Field(min_length=1, description="image file name -> boxes")
    tag_meanings: dict[str, str] = Field(default_factory=dict, description="what each image tag means")

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
    def _boxes_use_the_labels(self) -> ReviewedFile:
        for name, image in self.images.items():
            stray = sorted({box[0] for box in image.boxes} - set(self.labels))
            if stray:
                raise ValueError(f"{name}: boxes labelled {stray}, not among the file's labels {self.labels}")
        unknown = sorted(set(self.conventions) - set(self.labels))
        if unknown:
            raise ValueError(f"conventions for labels the file does not cover: {unknown}")
        undefined = sorted({t for image in self.images.values() for t in image.tags} - set(self.tag_meanings))
        if undefined:
            raise ValueError(f"image tags without a meaning in tag_meanings: {undefined}")
        return self


class ReviewedSource(ReviewedFile):
    """The boxes of a whole source folder of ``shared/data``, keyed by the image's file name there."""

    source: str = Field(min_length=1, description="the source folder the images belong to")


File = TypeVar("File", bound=ReviewedFile)


def load_reviewed_file(path: Path, kind: type[File]) -> File:
    """Read and validate a reviewed file of the given kind.

    Raises:
        ValueError: naming the file, for unreadable JSON or anything the schema refuses.
    """
    try:
        return kind.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"{path}: not a valid reviewed file: {exc}") from None
