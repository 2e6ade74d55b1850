"""Zones drawn on a camera view or a photo: normalised polygons with a kind and optional time windows.

Point-in-polygon is a vectorised even-odd ray test over all points and all edges at once (no masks, no
per-point OpenCV calls), so zones cost the same at any resolution.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, time, timedelta, tzinfo
from typing import Annotated, Literal

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vision.detections import BoolArray, Detections, FloatArray

ZoneKind = Literal["no_parking", "fire_lane", "sidewalk", "bin_point", "wall"]
Anchor = Literal["bottom_center", "center"]
IndexArray = npt.NDArray[np.intp]

Weekday = Annotated[int, Field(ge=0, le=6, description="Mon=0 .. Sun=6")]


class TimeWindow(BaseModel):
    """When a zone applies, in the site's local time.

    ``end`` earlier than ``start`` wraps past midnight (22:00-06:00); ``days`` are the days the window
    starts on. A window is half-open: ``start <= t < end``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: frozenset[Weekday] = Field(default=frozenset(range(7)), min_length=1)
    start: time
    end: time

    @model_validator(mode="after")
    def _non_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError(f"time window is empty: start and end are both {self.start.isoformat()}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("time window times are local wall-clock times; leave the UTC offset out")
        return self

    def contains(self, local: datetime) -> bool:
        """Whether the local wall-clock time ``local`` falls inside the window."""
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= clock < self.end
        if clock >= self.start:  # evening part of an overnight window
            return local.weekday() in self.days
        # early-morning part: the window started the day before
        return (local - timedelta(days=1)).weekday() in self.days and clock < self.end


def anchors(xyxy: FloatArray, anchor: Anchor) -> FloatArray:
    """(N, 2) anchor points of (N, 4) xyxy boxes: bottom centre (where a vehicle meets the ground) or centre."""
    x = (xyxy[:, 0] + xyxy[:, 2]) / 2
    y = xyxy[:, 3] if anchor == "bottom_center" else (xyxy[:, 1] + xyxy[:, 3]) / 2
    return np.stack([x, y], axis=1).astype(np.float32)


def normalised_xyxy(det: Detections, frame_wh: tuple[int, int]) -> FloatArray:
    """(N, 4) boxes of ``det`` divided by the frame width and height and clipped to [0, 1]."""
    w, h = frame_wh
    if w <= 0 or h <= 0:
        raise ValueError(f"frame size must be positive, got {frame_wh}")
    scale = np.array([w, h, w, h], dtype=np.float32)
    return np.asarray(np.clip(det.xyxy / scale, 0.0, 1.0), dtype=np.float32)


def points_in_polygon(points: FloatArray, polygon: FloatArray) -> BoolArray:
    """(N,) whether each of (N, 2) points lies inside the (K, 2) polygon (even-odd rule, any winding).

    A horizontal ray to the right of each point crosses each edge whose y-span is half-open
    ``[min(y), max(y))``; shared edges of adjacent polygons therefore give a point to exactly one of them.
    """
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    px, py = points[:, :1], points[:, 1:2]  # (N, 1) against (K,) edges -> (N, K)
    straddles = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        # x where the edge meets the ray's height; horizontal edges never straddle, so no 0/0 is used
        x_cross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    crossings = straddles & (px < x_cross)
    return np.asarray(np.count_nonzero(crossings, axis=1) % 2 == 1)


class PolygonZone:
    """A zone on normalised image coordinates ((0, 0) top-left, (1, 1) bottom-right).

    Args:
        polygon: (K, 2) vertices, K >= 3, x and y in [0, 1].
        kind: what the zone means for the rules.
        id: the zone's id in the site configuration (events carry it).
        windows: when the zone applies; empty means always.
        tz: time zone the windows are read in; None reads them in the timezone of the datetime asked about.
    """

    def __init__(
        self,
        polygon: npt.ArrayLike,
        *,
        kind: ZoneKind,
        id: str = "",
        windows: Sequence[TimeWindow] = (),
        tz: tzinfo | None = None,
    ) -> None:
        poly = np.asarray(polygon, dtype=np.float32)
        if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
            raise ValueError(f"zone polygon must be (K, 2) with K >= 3, got shape {poly.shape}")
        if poly.min() < 0 or poly.max() > 1:
            raise ValueError("zone polygon vertices must be normalised to [0, 1]")
        self.polygon: FloatArray = poly
        self.kind: ZoneKind = kind
        self.id = id
        self.windows = tuple(windows)
        self.tz = tz

    def __repr__(self) -> str:
        return f"PolygonZone(id={self.id!r}, kind={self.kind!r}, vertices={len(self.polygon)})"

    def active_at(self, t: datetime) -> bool:
        """Whether the zone applies at the timezone-aware instant ``t``."""
        if t.tzinfo is None:
            raise ValueError("zone activity needs a timezone-aware datetime")
        if not self.windows:
            return True
        local = t.astimezone(self.tz) if self.tz is not None else t
        return any(window.contains(local) for window in self.windows)

    def contains(self, points: FloatArray) -> BoolArray:
        """(N,) whether each of (N, 2) normalised points is inside the zone."""
        return points_in_polygon(points, self.polygon)

    def trigger(self, det: Detections, frame_wh: tuple[int, int], anchor: Anchor = "bottom_center") -> BoolArray:
        """(N,) whether each box's anchor lies in the zone; ``frame_wh`` is (width, height) in pixels."""
        return self.contains(anchors(normalised_xyxy(det, frame_wh), anchor))


def locate(points: FloatArray, zones: Sequence[PolygonZone], kinds: Collection[ZoneKind], t: datetime) -> IndexArray:
    """(N,) index into ``zones`` of the first zone of one of ``kinds``, active at ``t``, holding each of
    (N, 2) points; -1 where none does."""
    found = np.full(len(points), -1, dtype=np.intp)
    for i, zone in enumerate(zones):
        if zone.kind in kinds and zone.active_at(t):
            found[(found < 0) & zone.contains(points)] = i
    return found


def draw_zones(
    image: npt.NDArray[np.uint8],
    zones: Sequence[PolygonZone],
    color: tuple[int, int, int] = (0, 200, 255),
    thickness: int = 2,
) -> npt.NDArray[np.uint8]:
    """A copy of the (H, W, 3) BGR ``image`` with the zone outlines and ids drawn on it."""
    out = image.copy()
    h, w = out.shape[:2]
    for zone in zones:
        pts = np.round(zone.polygon * np.array([w - 1, h - 1], dtype=np.float32)).astype(np.int32)
        cv2.polylines(out, [pts.reshape(-1, 1, 2)], isClosed=True, color=color, thickness=thickness)
        x, y = (int(v) for v in pts[0])
        cv2.putText(out, zone.id or zone.kind, (x + 3, y + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
    return out
