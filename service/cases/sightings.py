"""Sightings into cases: a sighting updates the open case at its place, or opens a case (a recurrence when a closed
case was there); a camera that sees the place clear proposes its cases rectified.

A sighting that matches an open case updates it; one that matches only closed cases opens a new case linked to the
latest of them (``previous_case_id``: recurrence). Re-ingesting the same source content for the same violation and
box is a no-op (observation fingerprint). Where "the same place" is: :mod:`service.cases.matching`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.lifecycle import IN_UNIT_HANDS, OPEN, CaseState
from domain.taxonomy import EVENT_CODES
from service.cases.attachments import Attachment, attach
from service.cases.caselog import SYSTEM_ACTOR, LogAction, log
from service.cases.matching import MatchSettings, find_case, fingerprint, overlap
from service.cases.placement import Placement
from service.store.models import Case, EvidenceRole, Observation
from vision.rules.events import ClearEvent, ViolationEvent


class Outcome(StrEnum):
    """What an ingested sighting did."""

    OPENED = "opened"  # a new case
    RECURRED = "recurred"  # a new case at a closed case's place
    UPDATED = "updated"  # an open case seen again
    DUPLICATE = "duplicate"  # this source, violation and box were already ingested


@dataclass(frozen=True)
class IngestResult:
    case: Case
    observation_id: int
    outcome: Outcome


@dataclass(frozen=True)
class SightingSource:
    """What every sighting of one photo or frame shares: where, the model that saw it, the content's sha256."""

    where: Placement
    model_version: str
    source_sha256: str


def record_sighting(
    s: Session,
    event: ViolationEvent,
    source: SightingSource,
    evidence: Sequence[Attachment],
    match: MatchSettings,
    now: datetime,
) -> IngestResult:
    """One sighting in the caller's transaction: its observation, its case (found, reopened or new), its evidence."""
    key = fingerprint(source.source_sha256, event.violation, event.bbox)
    seen = s.scalar(select(Observation).where(Observation.fingerprint == key))
    if seen is not None:
        return IngestResult(s.get_one(Case, seen.case_id), seen.id, Outcome.DUPLICATE)
    where = source.where
    case = find_case(s, event.violation, event.bbox, where, OPEN, match)
    if case is not None:
        outcome = Outcome.UPDATED
        _update(s, case, event, where)
    else:
        previous = find_case(s, event.violation, event.bbox, where, {CaseState.CLOSED}, match)
        outcome = Outcome.RECURRED if previous else Outcome.OPENED
        case = _open(s, event, source, previous, now)
    obs = Observation(
        case_id=case.id,
        fingerprint=key,
        source_sha256=source.source_sha256,
        violation=event.violation,
        label=event.label,
        rule=event.rule,
        first_seen=event.first_seen,
        seen_at=event.last_seen,
        count=event.observations,
        model_version=source.model_version,
        created_at=now,
        **_where_seen(event, where),
    )
    s.add(obs)
    s.flush()
    attach(s, case.id, obs.id, evidence, EvidenceRole.SIGHTING, now)
    return IngestResult(case, obs.id, outcome)


def cleared_cases(s: Session, event: ClearEvent, camera_id: str, match: MatchSettings) -> list[Case]:
    """The cases a camera's clear event proposes rectified (locked for update): in the unit's hands on that camera,
    of the same violation, with an overlapping box, last seen before the place went clear, not yet proposed."""
    rows = s.scalars(
        select(Case)
        .where(Case.camera_id == camera_id, Case.violation == event.violation)
        .where(Case.state.in_(IN_UNIT_HANDS), Case.rectified_proposed.is_(False))
        .where(Case.last_seen < event.clear_since)
        .order_by(Case.id)
        .with_for_update()
    )
    return [case for case in rows if overlap(case.bbox, event.bbox) >= match.iou]


def _where_seen(event: ViolationEvent, where: Placement) -> dict[str, Any]:
    """The columns a case and an observation share: where (camera, place, zone, position), the box and the score."""
    return {
        "camera_id": where.camera_id,
        "place_id": where.place_id,
        "zone_key": event.zone_id,
        "lat": where.lat,
        "lon": where.lon,
        "bbox": list(event.bbox),
        "confidence": event.confidence,
    }


def _open(s: Session, event: ViolationEvent, source: SightingSource, previous: Case | None, now: datetime) -> Case:
    where = source.where
    case = Case(
        state=CaseState.PENDING_REVIEW,
        violation=event.violation,
        event_code=EVENT_CODES[event.violation].code,
        label=event.label,
        rule=event.rule,
        thresholds=dict(event.thresholds),
        model_version=source.model_version,
        grid_id=where.grid_id,
        unit_id=where.unit_id,
        first_seen=event.first_seen,
        last_seen=event.last_seen,
        observation_count=event.observations,
        created_at=now,
        extension_count=0,
        deferral_count=0,
        rework_count=0,
        needs_rework=False,
        rectified_proposed=False,
        previous_case_id=previous.id if previous else None,
        **_where_seen(event, where),
    )
    s.add(case)
    s.flush()
    log(s, case, LogAction.OPEN, SYSTEM_ACTOR, now, f"recurrence of case {previous.id}" if previous else None)
    return case


def _update(s: Session, case: Case, event: ViolationEvent, where: Placement) -> None:
    """An open case seen again; flags rework when the violation is back after handling or a clear."""
    case.first_seen = min(case.first_seen, event.first_seen)
    case.last_seen = max(case.last_seen, event.last_seen)
    case.observation_count += event.observations
    case.confidence = max(case.confidence, event.confidence)
    if where.camera_id is not None and where.camera_id == case.camera_id:
        case.bbox = list(event.bbox)  # follow slow drift of the box
    reasons = []
    if case.rectified_proposed and case.rectified_since and event.last_seen > case.rectified_since:
        case.rectified_proposed = False
        reasons.append(f"seen again at {event.last_seen.isoformat()} after the place was clear")
    handled = case.state in (CaseState.HANDLED, CaseState.VERIFIED)
    if handled and case.handled_at and event.last_seen > case.handled_at:
        reasons.append(f"seen again at {event.last_seen.isoformat()} after it was reported handled")
    if reasons and not case.needs_rework:
        case.needs_rework = True
        log(s, case, LogAction.FLAG_REWORK, SYSTEM_ACTOR, event.last_seen, "; ".join(reasons))
