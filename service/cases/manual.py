"""Cases filed by hand: a hotline call (12345 / 12319) or an inspector's report, with or without a photo. They join
the same workflow as the detector's (pending review, then 立案, 派遣 ...), with their source recorded, and never
count in the detector's quality figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from domain.errors import CaseError
from domain.lifecycle import CaseState
from domain.taxonomy import EVENT_CODES, LABELS, Violation
from service.cases.actions import refuse_duplicate_open
from service.cases.attachments import Attachment, attach
from service.cases.caselog import LogAction, log
from service.cases.placement import Placement
from service.store.models import Case, CaseSource, EvidenceRole

MANUAL_MODEL = "manual"  # the model_version of a case no model saw


def default_label(violation: Violation) -> str:
    """The first detector label that raises ``violation`` (a person reports the violation, not a box)."""
    return next(item.name for item in LABELS if violation in item.violations)


@dataclass(frozen=True)
class ManualReport:
    """What a person reported: which violation, where (a place or a position, resolved to a placement with no
    camera), when it was seen, in their words, and who they are (a caller's number, an inspector's name)."""

    source: CaseSource
    violation: Violation
    where: Placement
    seen_at: datetime
    description: str
    reporter: str | None = None


def open_manual_case(s: Session, report: ManualReport, photo: Sequence[Attachment], actor: str, now: datetime) -> Case:
    """A new case pending review from ``report``, its photo (if any) attached as the sighting; :class:`CaseError`
    for a detector source, a camera placement, or a place that already has an open case of that violation."""
    if report.source is CaseSource.DETECTOR:
        raise CaseError("a case filed by hand comes from the hotline or an inspector")
    if report.where.camera_id is not None:
        raise CaseError("a case filed by hand is at a place or a position, not a camera (report a camera's miss)")
    where = report.where
    case = Case(
        state=CaseState.PENDING_REVIEW,
        violation=report.violation,
        event_code=EVENT_CODES[report.violation].code,
        label=default_label(report.violation),
        rule=f"manual.{report.source}",
        thresholds={},
        model_version=MANUAL_MODEL,
        confidence=1.0,
        grid_id=where.grid_id,
        unit_id=where.unit_id,
        place_id=where.place_id,
        lat=where.lat,
        lon=where.lon,
        bbox=[],
        first_seen=report.seen_at,
        last_seen=report.seen_at,
        observation_count=0,
        created_at=now,
        source=report.source,
        description=report.description,
        reporter=report.reporter,
    )
    refuse_duplicate_open(s, case, report.violation)
    s.add(case)
    s.flush()
    attach(s, case.id, None, photo, EvidenceRole.SIGHTING, now)
    log(s, case, LogAction.OPEN, actor, now, f"{report.source}: {report.description}")
    return case
