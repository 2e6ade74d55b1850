"""Cases, their timeline, actions and verdicts; observations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from domain.lifecycle import Action, CaseState
from domain.taxonomy import Violation
from service.api.schemas import Instant, Request, Response
from service.core.site import Slug
from service.store.models import EvidenceKind, EvidenceRole, VerdictKind

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
    overdue: bool = Field(default=False, description="the unit still owes the work and the deadline has passed")
    actions: list[Action] = Field(default_factory=list, description="the actions the caller may take now")


class EventOut(Response):
    id: int
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    note: str | None


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
