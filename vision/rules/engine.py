"""The rule engine: per camera, frame by frame, detections and time in, violation and clear events out.

Pure: the clock is the ``t`` of each step (replaying hours of frames takes milliseconds), and all state is the
slot tables kept per camera.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from domain.taxonomy import Violation
from vision.detections import Detections, FloatArray
from vision.rules.config import RulesConfig, label_mask
from vision.rules.events import ClearEvent, FindingTable, ViolationEvent
from vision.rules.parking import DwellTracker, parking_candidates, parking_findings
from vision.rules.persistence import PersistenceTracker, SlotRows, TrackerUpdate
from vision.rules.static import container_boxes, static_candidates, static_findings, static_rules
from vision.zones import PolygonZone, normalised_xyxy


def findings_table(cfg: RulesConfig) -> FindingTable:
    """The finding codes of every rule in ``cfg``."""
    return FindingTable([*parking_findings(cfg.parking), *static_findings(cfg)])


def occluder_boxes(det: Detections, boxes: FloatArray, cfg: RulesConfig) -> FloatArray:
    """(P, 4) normalised boxes of things that can hide a static thing or a parked vehicle."""
    keep = label_mask(det, cfg.occluders.labels) & (det.score >= cfg.occluders.min_conf)
    return boxes[keep]


def _when(seconds: float, tz: tzinfo | None) -> datetime:
    return datetime.fromtimestamp(float(seconds), tz)


def _bbox(row: FloatArray) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (round(float(v), 6) for v in row)  # float32 noise off, for JSON and equality
    return (x1, y1, x2, y2)


def violation_events(
    rows: SlotRows,
    table: FindingTable,
    zones: Sequence[PolygonZone],
    tz: tzinfo | None,
) -> list[ViolationEvent]:
    """One :class:`ViolationEvent` per reported slot (reported slots are few: this loop is off the hot path)."""
    events = []
    for i in range(len(rows)):
        finding = table[int(rows.kind[i])]
        zone = int(rows.zone[i])
        events.append(
            ViolationEvent(
                violation=finding.violation,
                label=finding.label,
                rule=finding.rule,
                thresholds=dict(finding.thresholds),  # a copy per event: the table's is shared
                bbox=_bbox(rows.xyxy[i]),
                confidence=float(rows.score[i]),
                first_seen=_when(rows.first_seen[i], tz),
                last_seen=_when(rows.last_seen[i], tz),
                observations=int(rows.observations[i]),
                zone_id=zones[zone].id if zone >= 0 else None,
            )
        )
    return events


def _clear_events(rows: SlotRows, table: FindingTable, at: datetime) -> list[ClearEvent]:
    return [
        ClearEvent(
            violation=table[int(rows.kind[i])].violation,
            bbox=_bbox(rows.xyxy[i]),
            clear_since=_when(rows.since[i], at.tzinfo),
            at=at,
        )
        for i in range(len(rows))
    ]


@dataclass(frozen=True)
class RuleOutput:
    """What one frame produced."""

    violations: tuple[ViolationEvent, ...] = ()
    cleared: tuple[ClearEvent, ...] = ()


@dataclass
class _CameraState:
    parking: DwellTracker
    static: dict[Violation, PersistenceTracker] = field(default_factory=dict)


class RuleEngine:
    """Runs every rule over each camera's frames.

    Args:
        rules: the thresholds.
        zones_by_camera: each camera's zones; a camera without an entry has none (static rules still run,
            parking needs zones).
    """

    def __init__(self, rules: RulesConfig, zones_by_camera: Mapping[str, Sequence[PolygonZone]]) -> None:
        self.rules = rules
        self.zones = {camera: tuple(zones) for camera, zones in zones_by_camera.items()}
        self.table = findings_table(rules)
        self._state: dict[str, _CameraState] = {}

    def _new_state(self) -> _CameraState:
        cover = self.rules.occluders.cover
        static = {
            v: PersistenceTracker(rule.persistence, open_conf=rule.min_conf, cover=cover, max_slots=rule.max_slots)
            for v, rule in static_rules(self.rules).items()
        }
        return _CameraState(DwellTracker(self.rules.parking, cover=cover), static)

    def reset(self, camera_id: str | None = None) -> None:
        """Forget one camera's state (e.g. after it was moved), or every camera's."""
        if camera_id is None:
            self._state.clear()
        else:
            self._state.pop(camera_id, None)

    def step(self, camera_id: str, t: datetime, det: Detections, frame_wh: tuple[int, int]) -> RuleOutput:
        """Feed one frame of ``camera_id`` taken at the aware instant ``t``; ``frame_wh`` is (width, height)
        in pixels of the frame ``det`` was found in. Times of a camera must not go backwards."""
        if t.tzinfo is None:
            raise ValueError("rule engine needs timezone-aware frame times")
        if camera_id not in self._state:
            self._state[camera_id] = self._new_state()
        state = self._state[camera_id]
        zones = self.zones.get(camera_id, ())
        boxes = normalised_xyxy(det, frame_wh)
        occluders = occluder_boxes(det, boxes, self.rules)
        ts = t.timestamp()

        updates: list[TrackerUpdate] = []
        vehicles = parking_candidates(det, boxes, zones, t, self.rules.parking, self.table)
        updates.append(state.parking.update(ts, vehicles, occluders))
        bins = state.static[Violation.BIN_OVERFLOW]
        containers = container_boxes(bins.kind, bins.ref, self.table)
        candidates = static_candidates(det, boxes, zones, t, self.rules, self.table, containers)
        updates += [tracker.update(ts, candidates[v], occluders) for v, tracker in state.static.items()]

        violations = [e for u in updates for e in violation_events(u.fired, self.table, zones, t.tzinfo)]
        cleared = [e for u in updates for e in _clear_events(u.cleared, self.table, t)]
        return RuleOutput(tuple(violations), tuple(cleared))
