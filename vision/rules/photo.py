"""Photo mode: a patrol photo judged on its own, with no time series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from vision.detections import Detections
from vision.rules.config import RulesConfig
from vision.rules.engine import findings_table, violation_events
from vision.rules.events import Candidates, Finding, FindingTable, ViolationEvent
from vision.rules.parking import parking_candidates
from vision.rules.persistence import SlotRows, suppress
from vision.rules.static import static_candidates, static_rules
from vision.zones import PolygonZone, normalised_xyxy

_PHOTO_THRESHOLDS = ("min_conf", "min_area")  # all that applies without time


def _photo_table(table: FindingTable) -> FindingTable:
    return FindingTable(
        [
            Finding(f.violation, f.label, f.rule, {k: v for k, v in f.thresholds.items() if k in _PHOTO_THRESHOLDS})
            for f in table.findings
        ]
    )


def photo_violations(
    det: Detections,
    frame_wh: tuple[int, int],
    taken_at: datetime,
    zones: Sequence[PolygonZone] | None = None,
    *,
    cfg: RulesConfig | None = None,
) -> list[ViolationEvent]:
    """Violations visible in one photo.

    Without a time series there is no dwell and no persistence: a box counts when it scores at least the rule's
    ``min_conf`` and is at least ``min_area`` of the photo. Static things (garbage, overflowing bins, debris,
    posters, graffiti) count on their own, with the same garbage-versus-bin and wall-zone logic as for cameras.
    A vehicle only counts when ``zones`` are known (the photo was taken at a named place) and its bottom
    centre lies in a no-parking, fire-lane or sidewalk zone active at ``taken_at``: a car in a photo without
    zones is not a violation. Boxes of one violation type overlapping with the rule's IoU are reported once.

    Args:
        det: the photo's detections; ``frame_wh`` the photo's (width, height) in pixels.
        taken_at: timezone-aware time the photo was taken (EXIF or upload time); it decides zone activity
            and is the event's first and last seen.
        zones: the place's zones, normalised to the photo; None or empty when unknown.
        cfg: thresholds; the defaults when None.
    """
    if taken_at.tzinfo is None:
        raise ValueError("photo_violations needs a timezone-aware taken_at")
    cfg = cfg or RulesConfig()
    table = _photo_table(findings_table(cfg))
    zone_list = tuple(zones or ())
    boxes = normalised_xyxy(det, frame_wh)

    per_type: list[tuple[Candidates, float, float]] = []
    if zone_list:
        parking = cfg.parking
        per_type.append(
            (parking_candidates(det, boxes, zone_list, taken_at, parking, table), parking.min_conf, parking.iou)
        )
    rules = static_rules(cfg)
    for violation, cand in static_candidates(det, boxes, zone_list, taken_at, cfg, table).items():
        rule = rules[violation]
        per_type.append((cand, rule.min_conf, rule.persistence.iou))

    ts = taken_at.timestamp()
    events: list[ViolationEvent] = []
    for cand, min_conf, iou in per_type:
        sure = cand[cand.score >= min_conf]
        once = sure[suppress(sure.xyxy, sure.score, iou)]
        rows = SlotRows(
            xyxy=once.xyxy,
            kind=once.kind,
            zone=once.zone,
            first_seen=np.full(len(once), ts),
            last_seen=np.full(len(once), ts),
            score=once.score,
            observations=np.ones(len(once), dtype=np.int64),
            since=np.full(len(once), np.nan),
        )
        events += violation_events(rows, table, zone_list, taken_at.tzinfo)
    return events
