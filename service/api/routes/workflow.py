"""The command centre's workflow around the lifecycle: 督办, units' requests for 延期 / 缓办 and the centre's
decisions, corrections of where a case is, cases filed by hand (hotline, inspector), and each unit's workload.

Who may do what: the centre (admins, operators) supervises, decides, corrects and files; a unit handler asks
for 延期 or 缓办 on a case dispatched to its unit and sees its own requests and workload. A case the caller may
not see is a 404, as in :mod:`service.api.routes.cases`. Every write is audited in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from sqlalchemy.orm import Session

from domain.taxonomy import Violation
from service.api.deps import AnyUser, CtxDep, SessionDep, Staff, limit_uploads
from service.api.errors import not_found
from service.api.routes.cases import CaseIdPath, case_detail, photo_evidence, visible_case
from service.api.schemas import Instant
from service.api.schemas.cases import (
    CaseDetail,
    DecisionIn,
    PlacementIn,
    SuperviseRequest,
    UnitRequestIn,
    UnitRequestOut,
    UnitWorkload,
)
from service.auth import audit
from service.auth.principal import Principal
from service.cases import queries
from service.cases.manual import ManualReport
from service.cases.placement import locate
from service.cases.relocation import Relocation
from service.cases.workload import unit_workload
from service.context import Context
from service.core.site import Slug
from service.store.models import Case, CaseRequest, CaseSource, RequestState, Role

router = APIRouter(tags=["cases"])

RequestIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
_Text = Annotated[str, Form(min_length=1, max_length=2000)]


def _check_visible(ctx: Context, principal: Principal, case_id: int) -> None:
    with ctx.store.session() as session:
        visible_case(queries.get_case(session, case_id), principal, case_id)


def _audit(principal: Principal, action: str, target: str, details: dict[str, Any]) -> Callable[[Session, Any], None]:
    """The audit row a manager call writes in its own transaction (its ``then``)."""

    def write(session: Session, _row: Any) -> None:
        audit.record(session, principal.name, action, target, details)

    return write


@router.post("/cases/{case_id}/supervise", response_model=CaseDetail)
def supervise(case_id: CaseIdPath, principal: Staff, ctx: CtxDep, body: SuperviseRequest | None = None) -> CaseDetail:
    """督办: the centre presses the unit on a case it still owes (dispatched, extended, deferred or returned);
    the case keeps its state and is marked supervised (``supervised_at``, ``supervision_count``)."""
    note = body.note if body else None
    then = _audit(principal, "case.supervise", f"case:{case_id}", {"note": note})
    ctx.manager.supervise(case_id, actor=principal.name, note=note, then=then)
    return case_detail(ctx, principal, case_id)


@router.post("/cases/{case_id}/requests", response_model=UnitRequestOut, status_code=201)
def request_(case_id: CaseIdPath, body: UnitRequestIn, principal: AnyUser, ctx: CtxDep) -> UnitRequestOut:
    """A unit asks for 延期 (``kind=extend`` with the ``deadline`` it needs) or 缓办 (``kind=defer``) on a case
    dispatched to it; the centre approves or refuses. One pending request per case (422 for a second)."""
    if principal.role not in (Role.UNIT_HANDLER, Role.ADMIN, Role.OPERATOR):
        raise HTTPException(403, f"role {principal.role} may not ask for an extension or deferral")
    _check_visible(ctx, principal, case_id)
    details = {"kind": body.kind, "reason": body.reason, "deadline": body.deadline and body.deadline.isoformat()}
    then = _audit(principal, f"case.request_{body.kind}", f"case:{case_id}", details)
    row = ctx.manager.request(
        case_id,
        body.kind,
        actor=principal.name,
        reason=body.reason,
        deadline=body.deadline,
        then=then,
    )
    return UnitRequestOut.model_validate(row)


@router.get("/requests", response_model=list[UnitRequestOut])
def list_requests(
    principal: AnyUser,
    session: SessionDep,
    state: RequestState | None = RequestState.PENDING,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[UnitRequestOut]:
    """Requests, oldest first (the centre's queue: ``state=pending``, the default); a unit handler sees those on
    the cases dispatched to its unit."""
    rows = queries.list_requests(session, principal.units, [state] if state else [], limit=limit)
    return [UnitRequestOut.model_validate(r) for r, _case in rows]


def _decide(ctx: Context, principal: Principal, request_id: int, approved: bool, body: DecisionIn) -> UnitRequestOut:
    with ctx.store.session() as session:
        if session.get(CaseRequest, request_id) is None:
            not_found(f"request {request_id}")
    verb = "approve" if approved else "refuse"
    details = {"note": body.note, "deadline": body.deadline and body.deadline.isoformat()}
    then = _audit(principal, f"request.{verb}", f"request:{request_id}", details)
    row = ctx.manager.decide(
        request_id, approved, actor=principal.name, note=body.note, deadline=body.deadline, then=then
    )
    return UnitRequestOut.model_validate(row)


@router.post("/requests/{request_id}/approve", response_model=UnitRequestOut)
def approve(request_id: RequestIdPath, principal: Staff, ctx: CtxDep, body: DecisionIn | None = None) -> UnitRequestOut:
    """Grant the request: the case is extended (to the deadline asked for, or ``deadline``) or deferred, logged
    with the old and new deadline. 409 when the case can no longer be (it was handled meanwhile)."""
    return _decide(ctx, principal, request_id, True, body or DecisionIn())


@router.post("/requests/{request_id}/refuse", response_model=UnitRequestOut)
def refuse(request_id: RequestIdPath, principal: Staff, ctx: CtxDep, body: DecisionIn | None = None) -> UnitRequestOut:
    """Refuse the request (say why in ``note``); the case and its deadline stay as they are."""
    return _decide(ctx, principal, request_id, False, body or DecisionIn())


@router.patch("/cases/{case_id}/placement", response_model=CaseDetail)
def correct_placement(case_id: CaseIdPath, body: PlacementIn, principal: Staff, ctx: CtxDep) -> CaseDetail:
    """Correct where a case is: a place or a position (re-deriving its grid and unit), a grid (and so its unit),
    or the unit; logged in the case's history with what changed, and audited."""
    change = Relocation(body.place_id, body.lat, body.lon, body.grid_id, body.unit_id)
    details = body.model_dump(exclude_none=True)
    then = _audit(principal, "case.relocate", f"case:{case_id}", details)
    ctx.manager.relocate(case_id, change, actor=principal.name, note=body.note, then=then)
    return case_detail(ctx, principal, case_id)


@router.post("/cases/manual", response_model=CaseDetail, status_code=201)
def file_manual(
    principal: Staff,
    ctx: CtxDep,
    request: Request,
    source: Annotated[CaseSource, Form(description="hotline (12345 / 12319) or inspector")],
    violation: Annotated[Violation, Form()],
    description: _Text,
    reporter: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    place_id: Annotated[Slug | None, Form()] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    seen_at: Annotated[Instant | None, Form(description="when it was seen (default: now)")] = None,
    photo: Annotated[UploadFile | None, File(description="optional: JPEG, PNG, WebP or BMP, up to 25 MB")] = None,
) -> CaseDetail:
    """File a case from a hotline call or an inspector's report, at a place or a position (on a one-grid site,
    neither is needed), with or without a photo. It enters the workflow pending review, like a detection, with
    its source recorded; a place that already has an open case of that violation is refused (422)."""
    if (lat is None) != (lon is None):
        raise HTTPException(422, "a position needs both lat and lon")
    if photo is not None:
        limit_uploads(request, principal)
    evidence = [photo_evidence(photo)] if photo is not None else []
    where = locate(ctx.site, place_id=place_id, lat=lat, lon=lon)
    report = ManualReport(source, violation, where, seen_at or datetime.now(UTC), description, reporter)
    details = {"source": source, "violation": violation, "place_id": where.place_id, "grid_id": where.grid_id}

    def audited(session: Session, case: Case) -> None:
        audit.record(session, principal.name, "case.file_manual", f"case:{case.id}", details)

    case = ctx.manager.open_manual(report, evidence, actor=principal.name, then=audited)
    return case_detail(ctx, principal, case.id)


@router.get("/units/workload", response_model=list[UnitWorkload])
def workload(principal: AnyUser, session: SessionDep) -> list[UnitWorkload]:
    """Each unit's 待办 (owed, overdue, due soon, supervised, requests waiting) and 已办 counts now; a unit handler
    sees its own unit's."""
    return [UnitWorkload.model_validate(w) for w in unit_workload(session, datetime.now(UTC), principal.units)]
