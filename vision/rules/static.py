"""Rules for things that never move: garbage (exposed, or making a bin overflow), debris, posters, graffiti.

This module turns one frame's detections into :class:`Candidates` per violation type; persistence over time
is :class:`vision.rules.persistence.PersistenceTracker`'s job, and photo mode uses the candidates as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from domain.taxonomy import Violation
from vision.boxes import box_cover
from vision.detections import Detections, FloatArray
from vision.rules.config import GarbageRule, RulesConfig, StaticRule, label_mask
from vision.rules.events import Candidates, Finding, FindingTable, IndexArray
from vision.rules.persistence import grow
from vision.zones import PolygonZone, ZoneKind, anchors, locate

OVERFLOW_RULES = ("garbage.bin_overflow", "garbage.around_bin")  # rules whose box is a container's box
_BIN_POINT: tuple[ZoneKind, ...] = ("bin_point",)


def static_rules(cfg: RulesConfig) -> dict[Violation, StaticRule]:
    """The thresholds each static violation type is judged by (both garbage types share the garbage rule)."""
    return {
        Violation.BIN_OVERFLOW: cfg.garbage,
        Violation.EXPOSED_GARBAGE: cfg.garbage,
        Violation.DEBRIS: cfg.debris,
        Violation.FLYPOSTING: cfg.flyposting,
        Violation.FACADE_GRAFFITI: cfg.graffiti,
    }


_SIMPLE: tuple[tuple[Violation, str, str], ...] = (
    (Violation.DEBRIS, "debris.piled", "debris"),
    (Violation.FLYPOSTING, "flyposting.poster", "flyposting"),
    (Violation.FACADE_GRAFFITI, "graffiti.facade", "graffiti"),
)


def _thresholds(rule: StaticRule) -> dict[str, float]:
    p = rule.persistence
    return {
        "min_conf": rule.min_conf,
        "keep_conf": rule.keep_conf,
        "min_area": rule.min_area,
        "k": p.k,
        "n": p.n,
        "window_s": p.window_s,
        "iou": p.iou,
    }


def static_findings(cfg: RulesConfig) -> list[Finding]:
    """Every (violation, label, rule id) the static rules can report, with their thresholds."""
    g = cfg.garbage
    th = _thresholds(g)
    around = {**th, "touch_margin": g.touch_margin}
    out = [Finding(Violation.BIN_OVERFLOW, label, "garbage.bin_overflow", th) for label in g.overflow_labels]
    for label in g.labels:
        out += [
            Finding(Violation.BIN_OVERFLOW, label, "garbage.around_bin", around),
            Finding(Violation.BIN_OVERFLOW, label, "garbage.bin_point", th),
            Finding(Violation.EXPOSED_GARBAGE, label, "garbage.exposed", th),
        ]
    for violation, rule_id, name in _SIMPLE:
        rule: StaticRule = getattr(cfg, name)
        out += [Finding(violation, label, rule_id, _thresholds(rule)) for label in rule.labels]
    return out


def _select(
    det: Detections,
    boxes: FloatArray,
    labels: Sequence[str],
    rule: StaticRule,
    zones: Sequence[PolygonZone],
    t: datetime,
) -> tuple[IndexArray, IndexArray]:
    """(rows, zone): boxes of ``labels`` passing ``rule``'s thresholds and their zone index (-1: none). Where
    the zones include some of ``rule.zone_kinds``, only boxes whose anchor lies in one active at ``t`` count."""
    rows = rule.select(det, boxes, labels)
    zone = np.full(len(rows), -1, dtype=np.intp)
    if rule.zone_kinds and any(z.kind in rule.zone_kinds for z in zones):
        zone = locate(anchors(boxes[rows], rule.anchor), zones, rule.zone_kinds, t)
        rows, zone = rows[zone >= 0], zone[zone >= 0]
    return rows, zone


def _make(
    det: Detections, xyxy: FloatArray, rows: IndexArray, zone: IndexArray, rule_id: str, table: FindingTable
) -> Candidates:
    return Candidates(xyxy, det.score[rows], table.kinds(rule_id, det, rows), zone)


def _garbage(
    det: Detections,
    boxes: FloatArray,
    zones: Sequence[PolygonZone],
    t: datetime,
    g: GarbageRule,
    table: FindingTable,
    containers: FloatArray,
) -> dict[Violation, Candidates]:
    o_rows, o_zone = _select(det, boxes, g.overflow_labels, g, zones, t)
    overflow = _make(det, boxes[o_rows], o_rows, o_zone, "garbage.bin_overflow", table)

    rows, zone = _select(det, boxes, g.labels, g, zones, t)
    bins = np.flatnonzero(label_mask(det, g.container_labels) & (det.score >= g.keep_conf))
    cont = np.concatenate([boxes[bins], containers]).astype(np.float32)
    # garbage overlapping a container grown by the margin (in it or heaped around it): the bin overflows
    touching = np.zeros(len(rows), dtype=bool)
    best = np.zeros(len(rows), dtype=np.intp)
    if len(cont) and len(rows):
        cover = box_cover(boxes[rows], grow(cont, g.touch_margin))
        best = cover.argmax(axis=1)
        touching = cover[np.arange(len(rows)), best] > 0
    around = _make(det, cont[best[touching]], rows[touching], zone[touching], "garbage.around_bin", table)

    rows, zone = rows[~touching], zone[~touching]
    point = np.full(len(rows), -1, dtype=np.intp)
    if g.bin_point_is_container:  # the bin point is a container even when no bin is detected
        point = locate(anchors(boxes[rows], g.anchor), zones, _BIN_POINT, t)
    at = point >= 0
    at_point = _make(det, boxes[rows[at]], rows[at], point[at], "garbage.bin_point", table)
    exposed = _make(det, boxes[rows[~at]], rows[~at], zone[~at], "garbage.exposed", table)
    return {Violation.BIN_OVERFLOW: Candidates.concat([overflow, around, at_point]), Violation.EXPOSED_GARBAGE: exposed}


def static_candidates(
    det: Detections,
    boxes: FloatArray,
    zones: Sequence[PolygonZone],
    t: datetime,
    cfg: RulesConfig,
    table: FindingTable,
    containers: FloatArray | None = None,
) -> dict[Violation, Candidates]:
    """One frame's candidates per static violation type.

    Args:
        det: the frame's detections; ``boxes`` their (N, 4) normalised corners.
        zones: the camera's or photo's zones; ``t`` (aware) decides which are active.
        table: the finding codes (:func:`static_findings` among them).
        containers: (C, 4) normalised boxes of bins remembered from earlier frames, so garbage beside a bin
            the detector missed this frame still counts as overflow rather than exposed garbage.
    """
    extra = np.zeros((0, 4), np.float32) if containers is None else containers
    out = _garbage(det, boxes, zones, t, cfg.garbage, table, extra)
    for violation, rule_id, name in _SIMPLE:
        rule: StaticRule = getattr(cfg, name)
        rows, zone = _select(det, boxes, rule.labels, rule, zones, t)
        out[violation] = _make(det, boxes[rows], rows, zone, rule_id, table)
    return out


def container_boxes(kind: IndexArray, ref: FloatArray, table: FindingTable) -> FloatArray:
    """(C, 4) boxes among (S, 4) ``ref`` whose finding ``kind`` is a bin's (not a bin point's garbage)."""
    is_bin = np.array([f.rule in OVERFLOW_RULES for f in table.findings], dtype=bool)
    return np.asarray(ref[is_bin[kind]], dtype=np.float32) if len(kind) else np.zeros((0, 4), np.float32)
