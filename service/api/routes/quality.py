"""Violations the cameras missed (漏报): reported by the centre, tied to a camera and a time, they make the
detector's recall measurable (``GET /reports/quality``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import AnyUser, CtxDep, SessionDep, Staff
from service.api.period import PeriodDep
from service.api.schemas.cases import MissIn, MissOut
from service.auth import audit
from service.cases.quality import misses, record_miss
from service.core.site import Slug

router = APIRouter(tags=["reports"])


@router.post("/quality/misses", response_model=MissOut, status_code=201)
def report_miss(body: MissIn, principal: Staff, ctx: CtxDep) -> MissOut:
    """Record that ``camera_id`` showed a ``violation`` at ``seen_at`` and GridWatch did not report it; ``label``
    names the detector label that should have fired (needed where several raise the violation). Audited."""
    with ctx.store.transaction() as session:
        row = record_miss(
            session,
            camera_id=body.camera_id,
            seen_at=body.seen_at,
            violation=body.violation,
            label_name=body.label,
            note=body.note,
            case_id=body.case_id,
            actor=principal.name,
            now=datetime.now(UTC),
        )
        audit.record(session, principal.name, "quality.miss", f"camera:{body.camera_id}", {"miss": row.id})
        return MissOut.model_validate(row)


@router.get("/quality/misses", response_model=list[MissOut])
def list_misses(
    principal: AnyUser,
    session: SessionDep,
    period: PeriodDep,
    camera: Annotated[list[Slug], Query(max_length=100)] = [],  # noqa: B006 - FastAPI copies it
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MissOut]:
    """Misses seen in ``[start, end)``, newest first; a unit handler's are those of its grids' cameras."""
    rows = misses(session, period.start, period.end, cameras=camera, grids=principal.grids, limit=limit)
    return [MissOut.model_validate(r) for r in rows]
