"""Exports: cases, KPIs, the weekly ranking (红黑榜), the exposure list (周曝光) and the detector's quality as CSV
or XLSX, operators' verdicts as a YOLO dataset zip for retraining.

Each table is the one its report route gives for the same query (the same functions compute both), limited to
what the caller sees (a unit handler: its unit's cases); the verdict dataset holds only privacy-safe renditions of
the photos (heads and plates pixelated) and is for staff.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from domain.lifecycle import CaseState
from domain.taxonomy import Violation
from service.api.deps import AnyUser, CtxDep, SessionDep, Staff
from service.api.period import PeriodDep
from service.api.routes.cases import SlugList
from service.api.routes.reports import RankedBy, Week, Year, exposure_of, ranking_of
from service.api.schemas import Instant
from service.cases.kpi import GroupBy, kpis
from service.cases.quality import QualityBy, quality
from service.cases.queries import CaseFilter
from service.evidence_privacy import PrivateEvidence
from service.integrations.exports import (
    Table,
    cases_table,
    exposure_table,
    kpi_table,
    quality_table,
    ranking_table,
    to_csv,
    to_xlsx,
    verdicts_dataset,
)
from service.store.models import EvidenceFile

router = APIRouter(prefix="/exports", tags=["exports"])

Format = Literal["csv", "xlsx"]
# A table in the request's language (service.ui.export_words.localise, set on app.state by the app: the API does
# not import the UI): (request, session, site time zone, table, the column its rows are grouped by) -> table.
Words = Callable[[Request, Session, tzinfo, Table, str | None], Table]
_MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _file(
    request: Request, session: Session, tz: tzinfo, table: Table, fmt: Format, group: str | None = None
) -> Response:
    words: Words = request.app.state.export_words
    shown = words(request, session, tz, table, group)
    data = to_csv(shown) if fmt == "csv" else to_xlsx(shown)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    disposition = f'attachment; filename="gridwatch-{table.name}-{stamp}.{fmt}"'
    return Response(data, media_type=_MEDIA[fmt], headers={"Content-Disposition": disposition})


@router.get("/cases.{fmt}", response_class=Response, summary="cases as CSV or XLSX (filters as GET /cases)")
def export_cases(
    request: Request,
    fmt: Annotated[Format, Path()],
    principal: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    state: Annotated[list[CaseState], Query(max_length=len(CaseState))] = [],  # noqa: B006 - FastAPI copies it
    violation: Annotated[list[Violation], Query(max_length=len(Violation))] = [],  # noqa: B006
    grid: SlugList = [],  # noqa: B006
    since: Annotated[Instant | None, Query(description="first seen at or after")] = None,
    until: Annotated[Instant | None, Query(description="first seen before")] = None,
) -> Response:
    f = CaseFilter(
        states=state, violations=violation, grid_ids=grid, since=since, until=until, units_visible=principal.units
    )
    return _file(request, session, ctx.site.calendar.tz, cases_table(session, f), fmt)


@router.get("/kpis.{fmt}", response_class=Response, summary="KPIs of cases due in a period, as CSV or XLSX")
def export_kpis(
    request: Request,
    fmt: Annotated[Format, Path()],
    principal: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    period: PeriodDep,
    by: GroupBy | None = None,
) -> Response:
    rows = kpis(session, period.start, period.end, by, ctx.site.calendar.tz, units=principal.units)
    return _file(request, session, ctx.site.calendar.tz, kpi_table(rows), fmt, by)


@router.get("/ranking.{fmt}", response_class=Response, summary="a week's ranking of grids or units (红黑榜)")
def export_ranking(
    request: Request,
    fmt: Annotated[Format, Path()],
    _: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    year: Year = None,
    week: Week = None,
    n: Annotated[int, Query(ge=1, le=50)] = 3,
    by: RankedBy = GroupBy.GRID,
) -> Response:
    table = ranking_table(ranking_of(ctx, session, year, week, n, by))
    return _file(request, session, ctx.site.calendar.tz, table, fmt)


@router.get("/exposure.{fmt}", response_class=Response, summary="a week's worst overdue cases (周曝光)")
def export_exposure(
    request: Request,
    fmt: Annotated[Format, Path()],
    principal: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    year: Year = None,
    week: Week = None,
    n: Annotated[int, Query(ge=1, le=200)] = 10,
) -> Response:
    table = exposure_table(exposure_of(ctx, session, year, week, n, principal.units))
    return _file(request, session, ctx.site.calendar.tz, table, fmt)


@router.get("/quality.{fmt}", response_class=Response, summary="detector precision and recall per label, camera, week")
def export_quality(
    request: Request,
    fmt: Annotated[Format, Path()],
    principal: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    period: PeriodDep,
    by: QualityBy | None = None,
) -> Response:
    rows = quality(session, period.start, period.end, by, ctx.site.calendar.tz, grids=principal.grids)
    return _file(request, session, ctx.site.calendar.tz, quality_table(rows), fmt, by)


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

    data = await run_in_threadpool(verdicts_dataset, session, render)
    disposition = 'attachment; filename="gridwatch-verdicts-yolo.zip"'
    return Response(data, media_type="application/zip", headers={"Content-Disposition": disposition})
