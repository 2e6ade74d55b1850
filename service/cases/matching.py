"""Same place, same sighting: which case a new sighting belongs to, and when it was already ingested.

Same place (dedup and recurrence), for a new sighting against an existing case of the same violation:

- both from the same camera: the boxes overlap with IoU >= ``MatchSettings.iou`` (one camera sees
  several piles; only the box tells them apart);
- otherwise: the same place id, or both located and at most ``MatchSettings.radius_m`` metres apart
  (a patrol photo next to a camera's case, two cameras on one corner).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.lifecycle import CaseState
from domain.taxonomy import Violation
from service.cases.placement import Placement
from service.core.site import haversine_m
from service.store.models import Case
from vision.boxes import box_iou


@dataclass(frozen=True)
class MatchSettings:
    """When two sightings are at the same place: box overlap (IoU, 0-1) on one camera, distance (metres) otherwise."""

    iou: float = 0.3
    radius_m: float = 30.0


def fingerprint(source_sha256: str, violation: Violation, bbox: Sequence[float]) -> str:
    """Identity of one sighting: the same content, violation and box (to 1e-4) is the same sighting."""
    box = ",".join(f"{v:.4f}" for v in bbox)
    return hashlib.sha256(f"{source_sha256}|{violation}|{box}".encode()).hexdigest()


def overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``[x1, y1, x2, y2]`` boxes."""
    return float(box_iou([list(a)], [list(b)])[0, 0])


def find_case(
    s: Session,
    violation: Violation,
    bbox: Sequence[float],
    where: Placement,
    states: Collection[CaseState],
    match: MatchSettings,
) -> Case | None:
    """The case of ``violation`` in ``states`` at the same place (locked for update), best match first."""
    near = Case.place_id == where.place_id if where.place_id else None
    if where.lat is not None and where.lon is not None:
        # Coarse box in degrees for the index; the exact distance is checked below.
        dlat = match.radius_m / 111_000.0
        dlon = dlat / max(math.cos(math.radians(where.lat)), 1e-6)
        box = Case.lat.between(where.lat - dlat, where.lat + dlat) & Case.lon.between(
            where.lon - dlon, where.lon + dlon
        )
        near = box if near is None else near | box
    if where.camera_id is not None:
        same_camera = Case.camera_id == where.camera_id
        near = same_camera if near is None else near | same_camera
    if near is None:
        return None
    candidates = s.scalars(
        select(Case)
        .where(Case.violation == violation, Case.state.in_(states), near)
        .order_by(Case.id)
        .with_for_update()
    )
    scored: list[tuple[float, datetime, int, Case]] = []
    for case in candidates:
        score = _score(case, bbox, where, match)
        if score is not None:
            stamp = case.closed_at or case.last_seen
            scored.append((score, stamp, case.id, case))
    return max(scored, key=lambda t: t[:3])[3] if scored else None


def _score(case: Case, bbox: Sequence[float], where: Placement, match: MatchSettings) -> float | None:
    """How well ``case`` matches a sighting at ``where`` (higher is better), None when not the same place."""
    if where.camera_id is not None and case.camera_id == where.camera_id:
        iou = overlap(case.bbox, bbox)
        return iou if iou >= match.iou else None
    if where.place_id is not None and case.place_id == where.place_id:
        return 1.0
    if None not in (where.lat, where.lon, case.lat, case.lon):
        d = haversine_m(where.lat, where.lon, case.lat, case.lon)  # type: ignore[arg-type]
        return 1.0 - d / match.radius_m if d <= match.radius_m else None
    return None
