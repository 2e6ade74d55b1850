"""Cases, their timeline, actions and verdicts; observations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from domain.lifecycle import Action, CaseState
from domain.taxonomy import Violation
from service.api.schemas import Instant, Request, Response
from service.cases.queries import Due
from service.core.site import Slug
from service.store.models import CaseSource, EvidenceKind, EvidenceRole, RequestKind, RequestState, VerdictKind

Note = Annotated[str, Field(min_length=1, max_length=2000)]
CaseId = Annotated[int, Field(ge=1, le=2**31 - 1)]
BULK_MAX = 200


class CaseOut(Response):
    id: int
    state: CaseState
    violation: Violation
    event_code: str
    label: str
    rule: str
    confidence: float
    model_version: str
    grid_id: str | None
    unit_id: str | None
    camera_id: str | None
    place_id: str | None
    zone_key: str | None
    lat: float | None
    lon: float | None
    bbox: list[float]
    first_seen: datetime
    last_seen: datetime
    observation_count: int
    created_at: datetime
    filed_at: datetime | None
    dispatched_at: datetime | None
    deadline_at: datetime | None
    handled_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    extension_count: int
    deferral_count: int
    rework_count: int
    needs_rework: bool
    rectified_proposed: bool
    previous_case_id: int | None
    source: CaseSource = Field(description="detector (camera or photo), hotline (12345) or inspector")
    description: str | None = Field(description="a case filed by hand: what the reporter said")
    reporter: str | None
    supervised_at: datetime | None = Field(description="the latest 督办 by the centre")
    supervision_count: int
    overdue: bool = Field(default=False, description="the unit still owes the work and the deadline has passed")
    due: Due | None = Field(default=None, description="overdue, due_soon or on_time while the deadline runs")
    time_left_s: float | None = Field(
        default=None, description="seconds to the deadline while it runs (negative: overdue by that much)"
    )
    actions: list[Action] = Field(default_factory=list, description="the actions the caller may take now")


class EventOut(Response):
    id: int
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    note: str | None
    deadline_before: datetime | None = Field(description="an entry that moved the deadline: the old one")
    deadline_after: datetime | None = Field(description="an entry that moved the deadline: the new one")


class EvidenceOut(Response):
    sha256: str
    kind: EvidenceKind
    role: EvidenceRole
    observation_id: int | None
    created_at: datetime


class VerdictOut(Response):
    id: int
    case_id: int
    at: datetime
    actor: str
    verdict: VerdictKind
    violation: Violation | None
    note: str | None


class CaseDetail(CaseOut):
    events: list[EventOut] = Field(default_factory=list, description="the case log, oldest first")
    evidence: list[EvidenceOut] = Field(default_factory=list)
    verdicts: list[VerdictOut] = Field(default_factory=list)


class ActionRequest(Request):
    note: Note | None = None
    unit_id: Slug | None = Field(default=None, description="dispatch only: the unit, instead of the grid's")
    deadline: Instant | None = Field(default=None, description="extend only: the new, later deadline")


class BulkActionRequest(Request):
    case_ids: Annotated[list[CaseId], Field(min_length=1, max_length=BULK_MAX)]
    action: Action
    note: Note | None = None


class VerdictRequest(Request):
    verdict: VerdictKind
    violation: Violation | None = Field(default=None, description="relabel only: the right violation type")
    note: Note | None = None

    @model_validator(mode="after")
    def _relabel_target(self) -> VerdictRequest:
        if (self.verdict is VerdictKind.RELABEL) != (self.violation is not None):
            raise ValueError("violation is required for a relabel verdict and allowed for no other")
        return self


class BulkVerdictItem(VerdictRequest):
    case_id: CaseId


class BulkVerdictRequest(Request):
    items: Annotated[list[BulkVerdictItem], Field(min_length=1, max_length=BULK_MAX)]


class BulkResult(Response):
    """One item of a bulk request: done, or why not (``status`` as the single request would have answered)."""

    case_id: int
    status: int
    detail: str | None = None


class BulkResponse(Response):
    results: list[BulkResult]


class ObservationOut(Response):
    id: int
    case_id: int
    violation: Violation
    label: str
    rule: str
    first_seen: datetime
    seen_at: datetime
    count: int
    camera_id: str | None
    place_id: str | None
    zone_key: str | None
    lat: float | None
    lon: float | None
    bbox: list[float]
    confidence: float
    model_version: str
    created_at: datetime
    source_sha256: str
    text: str | None = Field(None, description="flyposting: the poster's text as read (OCR); null for other kinds")


class SuperviseRequest(Request):
    note: Note | None = None


class UnitRequestIn(Request):
    """A unit's request: 延期 (``extend``, with the deadline it needs) or 缓办 (``defer``), and why."""

    kind: RequestKind
    reason: Note
    deadline: Instant | None = Field(default=None, description="extend only: the later deadline asked for")


class DecisionIn(Request):
    note: Note | None = None
    deadline: Instant | None = Field(default=None, description="approving an extension: grant this one instead")


class UnitRequestOut(Response):
    id: int
    case_id: int
    kind: RequestKind
    state: RequestState
    unit_id: str | None
    reason: str
    deadline: datetime | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class PlacementIn(Request):
    """Corrections to where a case is; omitted fields stay. A place or position re-derives the grid and unit."""

    place_id: Slug | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    grid_id: Slug | None = None
    unit_id: Slug | None = None
    note: Note | None = None


class MissIn(Request):
    """A violation a camera did not report (漏报)."""

    camera_id: Slug
    seen_at: Instant = Field(description="when the violation was in the camera's view")
    violation: Violation
    label: str | None = Field(default=None, max_length=32, description="the detector label it should have been")
    note: Note | None = None
    case_id: CaseId | None = Field(default=None, description="the case filed by hand for it, if any")


class MissOut(Response):
    id: int
    camera_id: str
    seen_at: datetime
    violation: Violation
    label: str
    note: str | None
    case_id: int | None
    reported_by: str
    reported_at: datetime


class UnitWorkload(Response):
    """One unit's 待办 and 已办 counts now."""

    unit_id: str
    todo: int
    overdue: int
    due_soon: int
    supervised: int
    requests_pending: int
    done: int
