"""Cases: list with filters, detail with timeline, lifecycle actions, the handling photo, verdicts.

Who may do what (:mod:`service.auth.policy`): everyone signed in reads (a unit handler only the cases dispatched
to its unit, once confirmed; any other case is a 404, as if it did not exist); admins and operators take every
action and give verdicts; a unit handler reports handling (with the photo) or sends a case back. Illegal
transitions are 409. Every action and verdict goes to the audit log. A unit's 待办 is ``?box=todo&sort=deadline``,
its 已办 ``?box=done``; every case says how long is left (``time_left_s``) and whether it is ``due`` soon or overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from sqlalchemy.orm import Session

from domain.errors import CaseError, ImageError
from domain.lifecycle import UNIT_DONE, UNIT_TODO, Action, CaseState, IllegalTransition
from domain.taxonomy import Violation
from service.api.deps import AnyUser, CtxDep, SessionDep, Staff, limit_uploads
from service.api.errors import not_found
from service.api.schemas import Instant, Page
from service.api.schemas.cases import (
    ActionRequest,
    BulkActionRequest,
    BulkResponse,
    BulkResult,
    BulkVerdictRequest,
    CaseDetail,
    CaseOut,
    EventOut,
    EvidenceOut,
    VerdictOut,
    VerdictRequest,
)
from service.auth import audit
from service.auth.policy import actions_for, may_act
from service.auth.principal import Principal
from service.cases import queries
from service.context import Context
from service.core.site import Slug
from service.store.evidence import EvidenceInput
from service.store.models import Case, CaseSource, EvidenceKind, Verdict
from vision.imageio import decode_image

router = APIRouter(tags=["cases"])

CaseIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_PHOTO_BYTES = 25 * 1024 * 1024
_PHOTO_EXT = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp"}
SlugList = Annotated[list[Slug], Query(max_length=100)]
BOXES = {"todo": UNIT_TODO, "done": UNIT_DONE}


def case_view(case: Case, principal: Principal, now: datetime) -> CaseOut:
    """A case as the caller sees it now: its deadline's state and the actions the caller may take."""
    left = queries.time_left(case, now)
    extra = {
        "overdue": queries.is_overdue(case, now),
        "due": queries.due_state(case, now),
        "time_left_s": None if left is None else left.total_seconds(),
        "actions": actions_for(principal.role, CaseState(case.state)),
    }
    return CaseOut.model_validate(case).model_copy(update=extra)


def visible_case(case: Case | None, principal: Principal, case_id: int) -> Case:
    """The case if the principal may see it; a 404 otherwise (not a 403: for a unit handler, a case not dispatched
    to its unit does not exist)."""
    if case is None or not principal.sees_case(case.unit_id, case.state):
        not_found(f"case {case_id}")
    return case


def photo_evidence(photo: UploadFile) -> EvidenceInput:
    """An uploaded photo as evidence: 413 over :data:`MAX_PHOTO_BYTES`, 422 when it is not a whole, sane image."""
    data = photo.file.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise HTTPException(413, f"photo over {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
    try:
        image = decode_image(data, target=64)  # checks it is a whole, sane image; reduced decoding is cheap
    except ImageError as exc:
        raise HTTPException(422, f"photo: {exc}") from None
    return EvidenceInput(EvidenceKind.ORIGINAL, data, _PHOTO_EXT[image.format])


def case_detail(ctx: Context, principal: Principal, case_id: int, *, acted: bool = False) -> CaseDetail:
    """The case with its log, evidence and verdicts. ``acted``: the answer to the caller's own action, shown even
    when the action took the case out of its view (a unit handler's 退回)."""
    with ctx.store.session() as session:
        case = queries.get_case(session, case_id)
        case = case if acted and case is not None else visible_case(case, principal, case_id)
        view = case_view(case, principal, datetime.now(UTC))
        return CaseDetail(
            **view.model_dump(),
            events=[EventOut.model_validate(e) for e in queries.case_events(session, case_id)],
            evidence=[EvidenceOut.model_validate(e) for e in queries.case_evidence(session, case_id)],
            verdicts=[VerdictOut.model_validate(v) for v in queries.case_verdicts(session, case_id)],
        )


@router.get("/cases", response_model=Page[CaseOut])
def list_cases(
    principal: AnyUser,
    session: SessionDep,
    state: Annotated[list[CaseState], Query(max_length=len(CaseState))] = [],  # noqa: B006 - FastAPI copies it
    violation: Annotated[list[Violation], Query(max_length=len(Violation))] = [],  # noqa: B006
    grid: SlugList = [],  # noqa: B006
    unit: SlugList = [],  # noqa: B006
    camera: SlugList = [],  # noqa: B006
    place: SlugList = [],  # noqa: B006
    since: Annotated[Instant | None, Query(description="first seen at or after (ISO 8601 with offset)")] = None,
    until: Annotated[Instant | None, Query(description="first seen before")] = None,
    overdue: bool | None = None,
    needs_rework: bool | None = None,
    due: queries.Due | None = None,
    supervised: bool | None = None,
    source: Annotated[list[CaseSource], Query(max_length=len(CaseSource))] = [],  # noqa: B006
    box: Annotated[Literal["todo", "done"] | None, Query(description="a unit's 待办 or 已办")] = None,
    sort: queries.Sort = "newest",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page[CaseOut]:
    """Cases, newest first (``sort=deadline``: the nearest deadline first). Repeat a filter to match any of several
    values (``?state=filed&state=dispatched``); ``box=todo`` keeps the states a unit still owes, ``box=done``
    those it reported handled."""
    now = datetime.now(UTC)
    states = list(state)
    if box is not None:  # the box's states, narrowed by any state asked for
        states = [s for s in states or sorted(BOXES[box]) if s in BOXES[box]]
        if not states:
            return Page[CaseOut](items=[], total=0, limit=limit, offset=offset)
    filters = queries.CaseFilter(
        states=states,
        violations=violation,
        grid_ids=grid,
        unit_ids=unit,
        camera_ids=camera,
        place_ids=place,
        since=since,
        until=until,
        overdue=overdue,
        needs_rework=needs_rework,
        due=due,
        supervised=supervised,
        sources=source,
        units_visible=principal.units,
        sort=sort,
        now=now,
    )
    rows, total = queries.list_cases(session, filters, limit=limit, offset=offset)
    return Page[CaseOut](items=[case_view(c, principal, now) for c in rows], total=total, limit=limit, offset=offset)


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(case_id: CaseIdPath, principal: AnyUser, ctx: CtxDep) -> CaseDetail:
    """A case with its timeline (the case log), its evidence and the verdicts on it."""
    return case_detail(ctx, principal, case_id)


def _act(
    ctx: Context,
    principal: Principal,
    case_id: int,
    action: Action,
    *,
    note: str | None = None,
    unit_id: str | None = None,
    deadline: datetime | None = None,
    evidence: Sequence[EvidenceInput] = (),
) -> None:
    """Check visibility and role, run the action through the case manager, audited in its transaction."""
    with ctx.store.session() as session:
        visible_case(queries.get_case(session, case_id), principal, case_id)
    if not may_act(principal.role, action):
        raise HTTPException(403, f"role {principal.role} may not {action} cases")

    def audited(session: Session, case: Case) -> None:
        details = {"to": case.state, "note": note, "unit_id": unit_id, "deadline": deadline and deadline.isoformat()}
        audit.record(session, principal.name, f"case.{action}", f"case:{case_id}", details)

    ctx.manager.act(
        case_id,
        action,
        actor=principal.name,
        note=note,
        unit_id=unit_id,
        deadline=deadline,
        evidence=evidence,
        then=audited,
    )


@router.post(
    "/cases/{case_id}/actions/{action}",
    response_model=CaseDetail,
    responses={409: {"description": "the lifecycle does not allow this action in the case's state"}},
)
def act(
    case_id: CaseIdPath, action: Action, principal: AnyUser, ctx: CtxDep, body: ActionRequest | None = None
) -> CaseDetail:
    """Move a case through its life: ``file``, ``reject``, ``dispatch`` (optional ``unit_id``), ``extend``
    (``deadline`` required), ``defer``, ``resume``, ``send_back``, ``verify``, ``return``, ``close``.
    ``handle`` needs the handling photo: use ``POST /cases/{id}/handle``."""
    body = body or ActionRequest()
    _act(ctx, principal, case_id, action, note=body.note, unit_id=body.unit_id, deadline=body.deadline)
    return case_detail(ctx, principal, case_id, acted=True)


@router.post("/cases/{case_id}/handle", response_model=CaseDetail, responses={409: {"description": "not dispatched"}})
def handle(
    case_id: CaseIdPath,
    principal: AnyUser,
    ctx: CtxDep,
    request: Request,
    photo: Annotated[UploadFile, File(description="the 处置反馈 photo: JPEG, PNG, WebP or BMP, up to 25 MB")],
    note: Annotated[str | None, Form(min_length=1, max_length=2000)] = None,
) -> CaseDetail:
    """The unit reports the case handled (处置反馈), with a photo of the place. Rate-limited per principal, as
    photo batches are (429 with Retry-After)."""
    limit_uploads(request, principal)
    _act(ctx, principal, case_id, Action.HANDLE, note=note, evidence=[photo_evidence(photo)])
    return case_detail(ctx, principal, case_id, acted=True)


def _bulk_status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    return (409 if isinstance(exc, IllegalTransition) else 422), str(exc)


@router.post("/cases/actions", response_model=BulkResponse)
def bulk_act(body: BulkActionRequest, principal: AnyUser, ctx: CtxDep) -> BulkResponse:
    """One action on many cases, each on its own: the result says per case what happened."""
    results = []
    for case_id in dict.fromkeys(body.case_ids):
        try:
            _act(ctx, principal, case_id, body.action, note=body.note)
        except (HTTPException, IllegalTransition, CaseError) as exc:
            status, detail = _bulk_status(exc)
            results.append(BulkResult(case_id=case_id, status=status, detail=detail))
        else:
            results.append(BulkResult(case_id=case_id, status=200))
    return BulkResponse(results=results)


def _verdict(ctx: Context, principal: Principal, case_id: int, body: VerdictRequest) -> VerdictOut:
    with ctx.store.session() as session:
        visible_case(queries.get_case(session, case_id), principal, case_id)
    details = {"verdict": body.verdict, "violation": body.violation, "note": body.note}

    def audited(session: Session, _row: Verdict) -> None:
        audit.record(session, principal.name, "case.verdict", f"case:{case_id}", details)

    row = ctx.manager.record_verdict(
        case_id, body.verdict, actor=principal.name, violation=body.violation, note=body.note, then=audited
    )
    return VerdictOut.model_validate(row)


@router.post("/cases/{case_id}/verdicts", response_model=VerdictOut, status_code=201)
def verdict(case_id: CaseIdPath, body: VerdictRequest, principal: Staff, ctx: CtxDep) -> VerdictOut:
    """Confirm, reject or relabel the detection behind a case (kept for review statistics and retraining;
    a relabel also retypes the case before dispatch). Verdicts do not move the case: act on it for that."""
    return _verdict(ctx, principal, case_id, body)


@router.post("/cases/verdicts", response_model=BulkResponse)
def bulk_verdicts(body: BulkVerdictRequest, principal: Staff, ctx: CtxDep) -> BulkResponse:
    """Many verdicts, each on its own (the review queue's bulk confirm / reject / relabel)."""
    results = []
    for item in body.items:
        single = VerdictRequest(verdict=item.verdict, violation=item.violation, note=item.note)
        try:
            _verdict(ctx, principal, item.case_id, single)
        except (HTTPException, CaseError) as exc:
            status, detail = _bulk_status(exc)
            results.append(BulkResult(case_id=item.case_id, status=status, detail=detail))
        else:
            results.append(BulkResult(case_id=item.case_id, status=201))
    return BulkResponse(results=results)
