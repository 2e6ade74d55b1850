"""Thresholds of the violation rules: strict pydantic models, composed by the site configuration.

Sizes are fractions of the frame area, times are seconds, IoU and coverage are in [0, 1].
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from vision.detections import BoolArray, Detections, FloatArray
from vision.zones import Anchor, ZoneKind

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, Field(gt=0.0, le=7 * 86400.0)]
IndexArray = npt.NDArray[np.intp]


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    dup = sorted({x for x in items if items.count(x) > 1})
    if dup:
        raise ValueError(f"listed more than once: {', '.join(dup)}")
    return items


Names = Annotated[tuple[str, ...], AfterValidator(_unique)]
Labels = Annotated[tuple[str, ...], Field(min_length=1), AfterValidator(_unique)]
ZoneKinds = Annotated[tuple[ZoneKind, ...], AfterValidator(_unique)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Which boxes a rule looks at.

    ``min_conf`` opens a new observation; ``keep_conf`` (<= ``min_conf``) is enough to keep seeing a thing
    already observed, so a score dipping at dusk or under a passing shadow does not lose it.
    """

    min_conf: Fraction = 0.4
    keep_conf: Fraction = 0.25
    min_area: Annotated[float, Field(ge=0.0, lt=1.0, description="smallest box, fraction of the frame")] = 0.0005
    anchor: Anchor = "center"
    max_slots: Annotated[int, Field(ge=1, le=10_000, description="things remembered per camera")] = 256

    @model_validator(mode="after")
    def _keep_below_min(self) -> Thresholds:
        if self.keep_conf > self.min_conf:
            raise ValueError(f"keep_conf ({self.keep_conf}) must not exceed min_conf ({self.min_conf})")
        return self

    def select(self, det: Detections, boxes: FloatArray, labels: Collection[str]) -> IndexArray:
        """Indices of ``det``'s boxes labelled one of ``labels``, scoring at least ``keep_conf`` and covering at
        least ``min_area`` of the frame; ``boxes`` are their (N, 4) normalised corners."""
        wh = boxes[:, 2:] - boxes[:, :2]
        ok = label_mask(det, labels) & (det.score >= self.keep_conf) & (wh[:, 0] * wh[:, 1] >= self.min_area)
        return np.flatnonzero(ok)


class Persistence(_Strict):
    """'Same thing, same place, k of n sampled observations over window_s seconds'.

    The window is cut into n samples of ``window_s / n`` seconds; a sample is a hit when the thing was
    detected in any frame of it, unknown when it was hidden (occluded) in every frame without a hit, and a
    miss otherwise.
    """

    k: Annotated[int, Field(ge=1, le=1000)] = 6
    n: Annotated[int, Field(ge=1, le=1000)] = 10
    window_s: Seconds = 600.0
    iou: Annotated[float, Field(gt=0.0, le=1.0, description="IoU for 'same place'")] = 0.3
    clear_s: Seconds = 600.0
    update_s: Seconds = 1800.0

    @model_validator(mode="after")
    def _k_of_n(self) -> Persistence:
        if self.k > self.n:
            raise ValueError(f"k ({self.k}) must not exceed n ({self.n})")
        return self


class StaticRule(Thresholds):
    """A rule for things that never move (piles, posters, graffiti).

    ``zone_kinds``: when a camera or place has zones of these kinds, only things whose anchor lies in one
    count (posters on a wall zone); without such zones everything counts.

    By default a static rule asks for no score above the model's own per-label thresholds, which the service's
    detector applies first (chosen on val by ``gridwatch calibrate``: best image-level F1 with at most 5 % false
    alarms, and different for each label and each model); a site may ask for more with ``min_conf``.
    """

    min_conf: Fraction = 0.0
    keep_conf: Fraction = 0.0
    labels: Labels
    persistence: Persistence = Persistence()
    zone_kinds: ZoneKinds = ()


class GarbageRule(StaticRule):
    """Garbage: exposed (no container) or making a bin overflow.

    Garbage whose box overlaps a container box grown by ``touch_margin`` of its size on every side (i.e.
    overlapping or surrounding the bin) makes that bin overflowing; so does garbage whose anchor lies in a
    ``bin_point`` zone when ``bin_point_is_container``.
    """

    labels: Labels = ("garbage",)
    container_labels: Labels = ("bin", "bin_overflow")
    overflow_labels: Labels = ("bin_overflow",)
    touch_margin: Annotated[float, Field(ge=0.0, le=2.0)] = 0.15
    bin_point_is_container: bool = True
    anchor: Anchor = "bottom_center"


class ParkingRule(Thresholds):
    """A vehicle whose anchor lies in a zone of ``zone_kinds`` and stays put for ``dwell_s``.

    Staying put: each sighting overlaps the vehicle's first position with IoU >= ``iou``, and the vehicle was
    seen or hidden in at least ``min_presence`` of the frames since (traffic crossing one spot now and then is
    not a parked car). Missed frames (detector flicker, a bus passing in front) shorter than ``gap_s`` do not
    restart the dwell. A confirmed vehicle not seen for ``clear_s`` has left.
    """

    motor_labels: Names = ("car", "truck", "bus")
    non_motor_labels: Names = ("motorcycle", "bicycle")
    zone_kinds: Annotated[ZoneKinds, Field(min_length=1)] = ("no_parking", "fire_lane", "sidewalk")
    anchor: Anchor = "bottom_center"
    dwell_s: Seconds = 300.0
    gap_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 60.0
    min_presence: Annotated[
        float, Field(gt=0.0, le=1.0, description="fraction of frames since first sighting it was seen or hidden")
    ] = 0.5
    iou: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    clear_s: Seconds = 120.0
    update_s: Seconds = 1800.0

    @model_validator(mode="after")
    def _some_vehicle(self) -> ParkingRule:
        if not self.motor_labels and not self.non_motor_labels:
            raise ValueError("parking needs at least one motor or non-motor label")
        if set(self.motor_labels) & set(self.non_motor_labels):
            raise ValueError("a label cannot be both motor and non-motor")
        return self


class Occluders(_Strict):
    """Boxes that can hide a static thing: a sample where one covers at least ``cover`` of the thing's box
    and the thing is not detected is unknown, not a miss."""

    labels: Names = ("person", "car", "truck", "bus", "motorcycle", "bicycle")
    min_conf: Fraction = 0.3
    cover: Annotated[float, Field(gt=0.0, le=1.0)] = 0.25


class RulesConfig(_Strict):
    """All rule thresholds."""

    parking: ParkingRule = ParkingRule()
    garbage: GarbageRule = GarbageRule()
    debris: StaticRule = StaticRule(labels=("debris",))
    flyposting: StaticRule = StaticRule(labels=("poster",), zone_kinds=("wall",), persistence=Persistence(iou=0.4))
    graffiti: StaticRule = StaticRule(labels=("graffiti",), zone_kinds=("wall",), persistence=Persistence(iou=0.4))
    occluders: Occluders = Occluders()


def label_mask(det: Detections, labels: Collection[str]) -> BoolArray:
    """(N,) whether each box's label is one of ``labels``; labels the model does not have never match."""
    wanted = np.array([name in labels for name in det.names], dtype=bool)
    if not wanted.any():
        return np.zeros(len(det), dtype=bool)
    return np.asarray(wanted[det.class_id])
