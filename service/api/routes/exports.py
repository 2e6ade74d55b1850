"""Exports: cases and KPIs as CSV or XLSX, operators' verdicts as a YOLO dataset zip for retraining.

Cases are filtered as in ``GET /cases`` and limited to the grids the caller sees; the verdict dataset holds
only privacy-safe renditions of the photos (heads and plates pixelated) and is for staff.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from domain.lifecycle import CaseState
from domain.taxonomy import Violation
from service.api.deps import AnyUser, CtxDep, SessionDep, Staff
from service.api.period import PeriodDep
from service.api.schemas import Instant
from service.cases.kpi import GroupBy, kpis
from service.cases.queries import CaseFilter
from service.evidence_privacy import PrivateEvidence
from service.integrations.exports import Table, cases_table, kpi_table, to_csv, to_xlsx, verdicts_dataset
from service.store.models import EvidenceFile

router = APIRouter(prefix="/exports", tags=["exports"])

Format = Literal["csv", "xlsx"]
_MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _file(table: Table, fmt: Format) -> Response:
    data = to_csv(table) if fmt == "csv" else to_xlsx(table)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    disposition = f'attachment; filename="gridwatch-{table.name}-{stamp}.{fmt}"'
    return Response(data, media_type=_MEDIA[fmt], headers={"Content-Disposition": disposition})


@router.get("/cases.{fmt}", response_class=Response, summary="cases as CSV or XLSX (filters as GET /cases)")
def export_cases(
    fmt: Annotated[Format, Path()],
    principal: AnyUser,
    session: SessionDep,
    state: Annotated[list[CaseState], Query(max_length=len(CaseState))] = [],  # noqa: B006 - FastAPI copies it
    violation: Annotated[list[Violation], Query(max_length=len(Violation))] = [],  # noqa: B006
    since: Annotated[Instant | None, Query(description="first seen at or after")] = None,
    until: Annotated[Instant | None, Query(description="first seen before")] = None,
) -> Response:
    f = CaseFilter(states=state, violations=violation, since=since, until=until, grids_visible=principal.grids)
    return _file(cases_table(session, f), fmt)


@router.get("/kpis.{fmt}", response_class=Response, summary="KPIs of cases due in a period, as CSV or XLSX")
def export_kpis(
    fmt: Annotated[Format, Path()],
    _: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    period: PeriodDep,
    by: GroupBy | None = None,
) -> Response:
    return _file(kpi_table(kpis(session, period.start, period.end, by, ctx.site.calendar.tz)), fmt)


@router.get(
    "/verdicts.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
    summary="operator verdicts as a YOLO dataset (images, labels, data.yaml in the 12-label taxonomy)",
)
async def export_verdicts(request: Request, principal: Staff, session: SessionDep) -> Response:
    renditions: PrivateEvidence = request.app.state.private_evidence

    def render(sha256: str) -> bytes:
        return renditions.rendition(sha256, session.get_one(EvidenceFile, sha256).ext)

    data = await run_in_threadpool(verdicts_dataset, session, render, grids_visible=principal.grids)
    disposition = 'attachment; filename="gridwatch-verdicts-yolo.zip"'
    return Response(data, media_type="application/zip", headers={"Content-Disposition": disposition})
