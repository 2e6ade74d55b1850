"""Parking: a vehicle whose anchor (bottom centre: where it meets the ground) lies in a no-parking, fire-lane or
sidewalk zone and stays put for the dwell time. Motor vehicles are 09009, non-motor (e-bikes, bicycles) 09010.

No tracker IDs: a vehicle is remembered by its first position, and a later box is the same parked vehicle
when it overlaps that position with IoU >= ``iou`` (a car driving through overlaps its first box for a
moment at most, so it never dwells).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

from domain.taxonomy import Violation
from vision.boxes import box_cover
from vision.detections import Detections, FloatArray
from vision.rules.config import ParkingRule
from vision.rules.events import Candidates, Finding, FindingTable
from vision.rules.persistence import NO_ROWS, SlotTable, TimeArray, TrackerUpdate, associate
from vision.zones import PolygonZone, anchors, locate


def parking_findings(rule: ParkingRule) -> list[Finding]:
    """Every (violation, label, rule id) parking can report: rule ids are ``parking.<zone kind>``."""
    th = {
        "min_conf": rule.min_conf,
        "keep_conf": rule.keep_conf,
        "min_area": rule.min_area,
        "dwell_s": rule.dwell_s,
        "gap_s": rule.gap_s,
        "iou": rule.iou,
    }
    by_label = [(label, Violation.MOTOR_PARKING) for label in rule.motor_labels]
    by_label += [(label, Violation.NON_MOTOR_PARKING) for label in rule.non_motor_labels]
    return [Finding(v, label, f"parking.{kind}", th) for kind in rule.zone_kinds for label, v in by_label]


def parking_candidates(
    det: Detections,
    boxes: FloatArray,
    zones: Sequence[PolygonZone],
    t: datetime,
    rule: ParkingRule,
    table: FindingTable,
) -> Candidates:
    """Vehicles whose anchor lies in a zone of ``rule.zone_kinds`` active at ``t``.

    Args:
        det: the frame's detections; ``boxes`` their (N, 4) normalised corners.
        zones: the camera's or photo's zones.
        table: finding codes including :func:`parking_findings`.
    """
    rows = rule.select(det, boxes, (*rule.motor_labels, *rule.non_motor_labels))
    zone = locate(anchors(boxes[rows], rule.anchor), zones, rule.zone_kinds, t)
    rows, zone = rows[zone >= 0], zone[zone >= 0]
    # which of rule.zone_kinds each zone is (a lookup per zone, then one gather per box)
    kind_of_zone = np.array([rule.zone_kinds.index(z.kind) if z.kind in rule.zone_kinds else -1 for z in zones])
    kind = np.full(len(rows), -1, dtype=np.intp)
    for i, zone_kind in enumerate(rule.zone_kinds):
        here = kind_of_zone[zone] == i if len(zones) else np.zeros(len(rows), dtype=bool)
        kind[here] = table.kinds(f"parking.{zone_kind}", det, rows[here])
    return Candidates(boxes[rows], det.score[rows], kind, zone)


class DwellTracker(SlotTable):
    """Vehicles in restricted zones and how long each has stayed put.

    A slot's match box is the vehicle's first position. Sightings at or above ``keep_conf`` extend it; an
    unmatched candidate at or above ``min_conf`` opens a new slot. A slot hidden by an occluder (covering at
    least ``cover`` of it) counts as still there (present). Policy: a slot seen for ``dwell_s`` (first to
    latest sighting) and present in at least ``min_presence`` of its frames is confirmed and reported, then
    again while seen at most every ``update_s``; an unconfirmed slot not present for ``gap_s`` is dropped (the
    dwell restarts); a confirmed one not present for ``clear_s`` is reported cleared (it left) and dropped.
    """

    last_present: TimeArray  # (S,) latest time the slot was seen or hidden
    frames: npt.NDArray[np.int64]  # (S,) frames since the first sighting, that one included
    present: npt.NDArray[np.int64]  # (S,) of which the slot was seen or hidden

    def __init__(self, rule: ParkingRule, *, cover: float) -> None:
        super().__init__(max_slots=rule.max_slots, update_s=rule.update_s)
        self.rule = rule
        self.cover = cover
        self._column("last_present", (), np.float64, np.nan)
        self._column("frames", (), np.int64, 0)
        self._column("present", (), np.int64, 0)

    def update(self, t: float, cand: Candidates, occluders: FloatArray) -> TrackerUpdate:
        """One frame at ``t`` seconds: ``cand`` are this frame's vehicles in restricted zones, ``occluders``
        (P, 4) normalised boxes that may hide a parked vehicle."""
        self._tick(t)
        if len(self) == 0 and len(cand) == 0:
            return TrackerUpdate(fired=NO_ROWS, cleared=NO_ROWS)
        r = self.rule
        slot = associate(cand.xyxy, self.ref, r.iou)
        slot[(slot < 0) & (cand.score < r.min_conf)] = -2  # too weak to open a slot, fine to keep one
        hit = self._hit(slot, cand.xyxy, cand.score, cand.kind, cand.zone, t, ref_alpha=0.0)
        opened = self._open(slot, cand.xyxy, cand.score, cand.kind, cand.zone, t, r.iou)
        hit = np.concatenate([hit, np.ones(opened, dtype=bool)])
        present = hit.copy()
        if len(occluders) and len(self):
            present |= box_cover(self.ref, occluders).max(axis=1) >= self.cover
        self.last_present[present] = t
        self.frames += 1
        self.present += present

        stayed = (self.last_seen - self.first_seen >= r.dwell_s) & (self.present >= r.min_presence * self.frames)
        self.confirmed |= hit & stayed
        fired = self._rows(self._due(t, hit))
        gone = t - self.last_present
        left = self.confirmed & (gone >= r.clear_s)
        cleared = self._rows(np.flatnonzero(left), self.last_seen[left])
        self._keep(~left & (self.confirmed | (gone <= r.gap_s)))
        self._evict()
        return TrackerUpdate(fired=fired, cleared=cleared)
