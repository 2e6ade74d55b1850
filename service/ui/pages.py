"""The operator web UI: server-rendered pages at ``/`` (Jinja2 templates, a little vanilla JavaScript).

Pages only read. Every change an operator makes (a verdict, a case action, the handling photo, camera zones, signing
in and out) is sent by the page's script to the REST API under ``/api/v1``, so the access rules, the lifecycle and
the audit log apply exactly as for any other client. Pages authenticate with the same session cookie and
dependency as the API; a visitor without a valid session is sent to the login page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from domain.errors import ImageError
from domain.lifecycle import OPEN, CaseState
from domain.taxonomy import Violation
from service.api.deps import CtxDep, SessionDep, optional_principal
from service.auth.policy import REVIEWERS, actions_for, workflow_actions
from service.auth.principal import Principal
from service.cases import queries as case_queries
from service.cases.kpi import kpis
from service.evidence_privacy import visible_evidence
from service.store.models import Case, Role
from service.ui import charts, i18n, notes, weekly
from service.ui import queries as ui_queries
from service.ui.i18n import LANG_COOKIE, Lang
from service.ui.thumbs import Thumbnails
from vision.zones import ZoneKind

HERE = Path(__file__).resolve().parent
# A fixed list (vendored libraries under vendor/ included): no file path is ever made from the URL.
STATIC = {p.relative_to(HERE / "static").as_posix(): p for p in (HERE / "static").rglob("*") if p.is_file()}
_MEDIA = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
ZONE_KINDS: tuple[str, ...] = ZoneKind.__args__  # type: ignore[attr-defined]  # the Literal's values
PER_PAGE = 25
REVIEW_PAGE = 20
REVIEW_LABELS = ("undo", "undone", "done.file", "done.reject", "done.relabel", "none_selected")
DASHBOARD_WEEKS = 8

templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Viewer:
    """Who is looking, in which language, and the site's time zone for showing times."""

    principal: Principal
    lang: Lang
    tz: ZoneInfo

    @property
    def reviews(self) -> bool:
        return self.principal.role in REVIEWERS


def _lang(request: Request) -> Lang:
    return i18n.choose_lang(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )


def _login_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(303, "sign in first", headers={"Location": f"/login?next={quote(target)}"})


def viewer(request: Request, ctx: CtxDep) -> Viewer:
    """The signed-in user of a page; anyone else (no cookie, an expired session, an API token) goes to login."""
    try:
        principal = optional_principal(request, ctx)
    except HTTPException:
        principal = None  # an expired or revoked session: sign in again rather than see an error
    if principal is None or principal.role is None:
        raise _login_redirect(request)
    return Viewer(principal, _lang(request), ctx.site.calendar.tz)


ViewerDep = Annotated[Viewer, Depends(viewer)]


def _local(tz: ZoneInfo, moment: datetime | None) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _render(request: Request, template: str, lang: Lang, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A page with the helpers every template uses; a ``?lang=`` choice is remembered in a cookie."""
    other: Lang = "en" if lang == "zh" else "zh"
    helpers: dict[str, Callable[..., str]] = {
        "t": partial(i18n.t, lang),
        "vname": partial(i18n.violation_name, lang),
        "sname": partial(i18n.state_name, lang),
        "aname": partial(i18n.action_name, lang),
        "lname": partial(i18n.label_name, lang),
        "wname": partial(i18n.week_name, lang),
    }
    switch_url = str(request.url.include_query_params(lang=other))
    base = {"lang": lang, "switch_url": switch_url, "violations": list(Violation)}
    response = templates.TemplateResponse(request, template, base | helpers | context, status_code=status)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def _page(request: Request, who: Viewer, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """:func:`_render` for a signed-in user: adds the user, the time formatter and the navigation."""
    extra = {"user": who.principal, "reviews": who.reviews, "local": partial(_local, who.tz), "path": request.url.path}
    return _render(request, template, who.lang, context | extra, status)


def _not_found(request: Request, who: Viewer, what: str) -> HTMLResponse:
    return _page(request, who, "error.html", {"status": 404, "message": what}, status=404)


# ---- sign in ---------------------------------------------------------------------------------------------


# A path on this site: browsers read a backslash as a slash and drop tabs and newlines, so ``/\\host`` and
# ``/\t/host`` would be other sites; neither is allowed anywhere in the target.
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\x00-\x20\x7f]*")


def _safe_next(target: str | None) -> str:
    """Only a local path: a login link must not send the user to another site."""
    if not target or not _LOCAL_PATH.fullmatch(target) or urlsplit(target).netloc:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next_url: Annotated[str | None, Query(alias="next")] = None) -> HTMLResponse:
    """The sign-in form; its script posts to ``/api/v1/auth/login``, which sets the session cookie."""
    return _render(request, "login.html", _lang(request), {"next": _safe_next(next_url)})


@router.get("/")
def home(who: ViewerDep) -> RedirectResponse:
    return RedirectResponse("/review" if who.reviews else "/cases", status_code=303)


@router.get("/static/{name:path}")
def static(name: str) -> FileResponse:
    path = STATIC.get(name)
    if path is None:
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(path, media_type=_MEDIA.get(path.suffix), headers={"Cache-Control": "no-cache"})


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The interactive API docs from the vendored Swagger UI: nothing is loaded from the internet."""
    vendor = "/static/vendor/swagger-ui/"
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=vendor + "swagger-ui-bundle.js",
        swagger_css_url=vendor + "swagger-ui.css",
        swagger_favicon_url=vendor + "favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from the public validator
    )


# ---- review queue ---------------------------------------------------------------------------------------


def _review_context(session: Session, who: Viewer, page: int) -> dict[str, Any]:
    """One page of the queue, newest first: each case with its latest sighting's pictures (as thumbnails)."""
    filters = case_queries.CaseFilter(states=[CaseState.PENDING_REVIEW], units_visible=who.principal.units)
    rows, total = case_queries.list_cases(session, filters, limit=REVIEW_PAGE, offset=(page - 1) * REVIEW_PAGE)
    pages = max(1, -(-total // REVIEW_PAGE))
    if not rows and page > pages:  # decisions emptied the last page: show the one before
        return _review_context(session, who, pages)
    pictures = ui_queries.case_pictures(session, [c.id for c in rows])
    items = [(c, ui_queries.latest_sighting(pictures.get(c.id, []))) for c in rows]
    labels = {key: i18n.t(who.lang, f"review.{key}") for key in REVIEW_LABELS}
    return {
        "items": items,
        "total": total,
        "page": page,
        "pages": pages,
        "names": ui_queries.site_names(session),
        "review_labels": labels,
    }


PageDep = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get("/review", response_class=HTMLResponse, response_model=None)
def review(request: Request, who: ViewerDep, session: SessionDep, page: PageDep = 1) -> Response:
    """Cases waiting for review, a page at a time; decisions are sent by the page's script, which then refills
    the queue from :func:`review_queue` without reloading."""
    if not who.reviews:
        return RedirectResponse("/cases", status_code=303)
    return _page(request, who, "review.html", _review_context(session, who, page))


@router.get("/review/queue", response_class=HTMLResponse, response_model=None)
def review_queue(request: Request, who: ViewerDep, session: SessionDep, page: PageDep = 1) -> Response:
    """The queue and its pager alone (an htmx fragment): the review page swaps it in after decisions and paging."""
    if not who.reviews:
        return RedirectResponse("/cases", status_code=303)
    return _page(request, who, "_queue.html", _review_context(session, who, page))


@router.get("/thumbs/{sha256}", response_model=None)
def thumbnail(request: Request, sha256: str, who: ViewerDep, session: SessionDep) -> Response:
    """A small JPEG of a privacy-safe evidence picture (full size from ``/api/v1/evidence/{sha256}``)."""
    row = visible_evidence(session, sha256, who.principal.units) if _SHA256.fullmatch(sha256) else None
    if row is None:
        raise HTTPException(404, f"no evidence {sha256}")
    thumbs: Thumbnails | None = getattr(request.app.state, "thumbnails", None)
    if thumbs is None:
        thumbs = request.app.state.thumbnails = Thumbnails(request.app.state.private_evidence)
    try:
        data = thumbs.thumbnail(row.sha256, row.ext)
    except (ImageError, ValueError) as exc:
        raise HTTPException(422, f"evidence {sha256} is not a picture: {exc}") from None
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


# ---- cases ----------------------------------------------------------------------------------------------


_Choice = TypeVar("_Choice", CaseState, Violation)


def _choice(kind: type[_Choice], value: str | None) -> _Choice | None:
    """A filter's value; the form sends "" for "any", and a hand-edited URL's nonsense is ignored too."""
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    who: ViewerDep,
    session: SessionDep,
    state_: Annotated[str | None, Query(alias="state")] = None,
    violation_: Annotated[str | None, Query(alias="violation")] = None,
    grid: str | None = None,
    unit: str | None = None,
    camera: str | None = None,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
    overdue: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Cases with filters (state, type, grid, unit, camera, first-seen dates, overdue). By default the open cases,
    nearest deadline first (what needs doing); ``state=all`` lists every case, newest first."""
    state, violation = _choice(CaseState, state_), _choice(Violation, violation_)
    listing = "all" if state_ == "all" else "open" if state is None else state.value
    start, end = _day(date_from), _day(date_to)
    now = datetime.now(UTC)
    filters = case_queries.CaseFilter(
        states=[state] if state else sorted(OPEN) if listing == "open" else [],
        sort="deadline" if listing == "open" else "newest",
        violations=[violation] if violation else [],
        grid_ids=[grid] if grid else [],
        unit_ids=[unit] if unit else [],
        camera_ids=[camera] if camera else [],
        since=datetime.combine(start, time(), who.tz) if start else None,
        until=datetime.combine(end + timedelta(days=1), time(), who.tz) if end else None,
        overdue=True if overdue else None,
        units_visible=who.principal.units,
        now=now,
    )
    rows, total = case_queries.list_cases(session, filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    chosen = {
        "state": listing,
        "violation": violation or "",
        "grid": grid or "",
        "unit": unit or "",
        "camera": camera or "",
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
        "overdue": overdue,
    }
    query = {k: v for k, v in chosen.items() if v}

    def page_url(number: int) -> str:
        return str(request.url.replace_query_params(**query, page=number))

    context = {
        "rows": [(c, case_queries.is_overdue(c, now)) for c in rows],
        "due_note": partial(_due_note, who.lang, now),
        "total": total,
        "page": min(page, pages),
        "pages": pages,
        "page_url": page_url,
        "chosen": chosen,
        "states": list(CaseState),
        "options": ui_queries.site_options(session),
        "names": ui_queries.site_names(session),
    }
    return _page(request, who, "cases.html", context)


def _due_note(lang: Lang, now: datetime, case: Case) -> str:
    """How long the unit has left, or how long it is overdue, while the deadline runs (empty otherwise)."""
    left = case_queries.time_left(case, now)
    if left is None:
        return ""
    key = "due.hours_left" if left.total_seconds() >= 0 else "due.hours_over"
    return i18n.t(lang, key).format(hours=f"{abs(left.total_seconds()) / 3600:.1f}")


def _utc_offset(tz: ZoneInfo) -> str:
    """The zone's offset now, ``+08:00``: the extend form's local deadline is sent with it."""
    offset = datetime.now(tz).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_detail(request: Request, case_id: int, who: ViewerDep, session: SessionDep) -> HTMLResponse:
    """A case: its facts, evidence (sightings, before/after, handling photos), timeline and allowed actions."""
    case = case_queries.get_case(session, case_id)
    if case is None or not who.principal.sees_case(case.unit_id, case.state):
        return _not_found(request, who, f"{i18n.t(who.lang, 'case')} #{case_id}")
    pictures = ui_queries.case_pictures(session, [case.id]).get(case.id, [])
    names = ui_queries.site_names(session)
    context = {
        "case": case,
        "overdue": case_queries.is_overdue(case, datetime.now(UTC)),
        "sighting": ui_queries.latest_sighting(pictures),
        "pictures": pictures,
        "phones": ui_queries.case_phones(session, case.id),
        "poster_texts": ui_queries.poster_texts(session, case.id),
        "events": case_queries.case_events(session, case.id),
        "verdicts": case_queries.case_verdicts(session, case.id),
        "actions": [
            *actions_for(who.principal.role, CaseState(case.state)),
            *workflow_actions(who.principal.role, CaseState(case.state)),
        ],
        "due_note": _due_note(who.lang, datetime.now(UTC), case),
        "relabel": who.reviews and case.state in (CaseState.PENDING_REVIEW, CaseState.FILED),
        "options": ui_queries.site_options(session),
        "names": names,
        "note": partial(notes.note_text, who.lang, names=names, local=partial(_local, who.tz)),
        "utc_offset": _utc_offset(who.tz),
        "case_map": _map_data(who, ui_queries.case_map(session, case)),
    }
    return _page(request, who, "case.html", context)


# ---- cameras --------------------------------------------------------------------------------------------


@router.get("/cameras", response_class=HTMLResponse)
def camera_list(request: Request, who: ViewerDep, session: SessionDep) -> HTMLResponse:
    """Every camera the user's grids hold, with a live snapshot and its stream status."""
    context = {
        "cameras": ui_queries.cameras(session, who.principal.grids),
        "names": ui_queries.site_names(session),
        "camera_words": notes.camera_words(who.lang, str(who.tz)),
    }
    return _page(request, who, "cameras.html", context)


@router.get("/cameras/{camera_id}", response_class=HTMLResponse)
def camera_page(request: Request, camera_id: str, who: ViewerDep, session: SessionDep) -> HTMLResponse:
    """A camera's live snapshot with the zone editor (editable by admins: zones are site configuration)."""
    found = [c for c in ui_queries.cameras(session, who.principal.grids) if c.id == camera_id]
    if not found:
        return _not_found(request, who, f"{i18n.t(who.lang, 'case.camera')} {camera_id}")
    zones = [
        {"id": z.key, "kind": z.kind, "polygon": z.polygon, "active": z.windows}
        for z in ui_queries.camera_zones(session, camera_id)
    ]
    can_edit = who.principal.role is Role.ADMIN
    labels = {key: i18n.t(who.lang, f"zones.{key}") for key in ("id", "kind", "delete", "saved", "failed")}
    config = {
        "camera": camera_id,
        "editable": can_edit,
        "kinds": [[kind, i18n.t(who.lang, f"zone.{kind}")] for kind in ZONE_KINDS],
        "labels": labels,
    }
    context = {
        "camera": found[0],
        "zones": zones,
        "zone_config": config,
        "can_edit": can_edit,
        "names": ui_queries.site_names(session),
        "camera_words": notes.camera_words(who.lang, str(who.tz)),
    }
    return _page(request, who, "camera.html", context)


# ---- dashboard ------------------------------------------------------------------------------------------


def _kpi_rows(lang: Lang, kpi: Any) -> list[tuple[str, float | None]]:
    names = ("closure_rate", "on_time_rate", "rework_rate", "extension_rate", "recurrence_rate")
    return [(i18n.t(lang, f"kpi.{name}"), getattr(kpi, name) if kpi else None) for name in names]


def _map_data(who: Viewer, data: dict[str, Any]) -> dict[str, Any]:
    """A map's layers (see :func:`ui_queries.site_map`) with the cases named in the viewer's language, and the
    optional tile server (``GRIDWATCH_MAP_TILES``, a ``{z}/{x}/{y}`` URL): without one the site's own shapes are
    drawn on a blank background, so the map works without internet access."""
    for case in data["cases"]:
        name = i18n.violation_name(who.lang, case["name"])
        case["name"] = f"#{case['id']} {name}" if "id" in case else name
    return data | {"tiles": os.environ.get("GRIDWATCH_MAP_TILES") or None}


def _this_week(now: datetime, tz: ZoneInfo) -> tuple[int, int]:
    year, week, _ = now.astimezone(tz).isocalendar()
    return year, week


ReportYear = Annotated[int | None, Query(ge=2000, le=2200)]
ReportWeek = Annotated[int | None, Query(ge=1, le=53)]


def _report(
    request: Request, who: Viewer, session: Session, year: int | None, week: int | None
) -> weekly.WeeklyReport | HTMLResponse:
    """The weekly report of ISO ``week`` (default: this week, as the report API's), or the error page for a week
    the year lacks."""
    this_year, this_week = _this_week(datetime.now(UTC), who.tz)
    try:
        return weekly.weekly_report(session, year or this_year, week or this_week, who.tz, who.principal.units)
    except ValueError:
        return _page(request, who, "error.html", {"status": 422, "message": i18n.t(who.lang, "dash.bad_week")}, 422)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    who: ViewerDep,
    session: SessionDep,
    weeks: Annotated[int, Query(ge=1, le=52)] = DASHBOARD_WEEKS,
    year: ReportYear = None,
    week: ReportWeek = None,
) -> HTMLResponse:
    """The wall: today's new, open and overdue cases; cases per type and week and the KPIs of the period; the unit
    and grid rankings with the 红黑榜 and the 周曝光 of this week (or ISO ``week`` of ``year``), recurrence hot spots
    and the site map.

    Scoped as the report API is (:mod:`service.ui.weekly`): rankings cover every grid and unit (cities publish them
    to all units), every other figure the cases the user sees.
    """
    now, tz, lang, units = datetime.now(UTC), who.tz, who.lang, who.principal.units
    start, end, labels = ui_queries.weeks_back(now, tz, weeks)
    per_type = ui_queries.cases_per_type_and_week(session, units, start, end, tz, labels)
    series = [
        charts.Series(i18n.violation_name(lang, v), [per_type.counts[(w, v)] for w in labels]) for v in per_type.names()
    ]
    overall = next(iter(kpis(session, start, end, None, tz, units=units)), None)
    report = _report(request, who, session, year, week)
    if isinstance(report, HTMLResponse):
        return report
    last_year, last_week = _this_week(now - timedelta(weeks=1), tz)
    heat = ui_queries.recurrences_per_grid_and_week(session, units, start, end, tz, labels)
    spots = ui_queries.recurrence_hot_spots(session, units, start, end)
    context = {
        "today": weekly.today(session, units, tz, now),
        "today_date": now.astimezone(tz).date().isoformat(),
        "report": report,
        "last_report_url": f"/dashboard/weekly?year={last_year}&week={last_week}",
        "weeks": weeks,
        "labels": labels,
        "per_type": per_type,
        "per_type_chart": charts.stacked_bars(
            [i18n.week_name(lang, w) for w in labels], series, i18n.t(lang, "dash.per_week")
        ),
        "kpi": overall,
        "kpi_chart": charts.rate_bars(_kpi_rows(lang, overall), i18n.t(lang, "dash.kpis")),
        "heat": heat,
        "heat_top": max(heat.counts.values(), default=0),
        "heat_colour": charts.heat_colour,
        "spots": spots,
        "site_map": _map_data(who, ui_queries.site_map(session, units, sorted(OPEN))),
        "map": charts.point_map(spots, ui_queries.grid_outlines(session), i18n.t(lang, "dash.map")) if spots else None,
        "names": ui_queries.site_names(session),
    }
    return _page(request, who, "dashboard.html", context)


@router.get("/dashboard/weekly", response_class=HTMLResponse)
def weekly_report_page(
    request: Request, who: ViewerDep, session: SessionDep, year: ReportYear = None, week: ReportWeek = None
) -> HTMLResponse:
    """The weekly report (周报) as a print-ready page: A4, no navigation when printed."""
    report = _report(request, who, session, year, week)
    if isinstance(report, HTMLResponse):
        return report
    monday = date.fromisocalendar(report.year, report.week, 1)
    (py, pw, _), (ny, nw, _) = (monday - timedelta(weeks=1)).isocalendar(), (monday + timedelta(weeks=1)).isocalendar()
    units, names = who.principal.units, ui_queries.site_names(session)
    comma = "、" if who.lang == "zh" else ", "
    context = {
        "report": report,
        "names": names,
        "scope": i18n.t(who.lang, "dash.scope_all") if units is None else comma.join(map(names.unit, sorted(units))),
        "generated": _local(who.tz, datetime.now(UTC)),
        "kpi_chart": charts.rate_bars(_kpi_rows(who.lang, report.kpi), i18n.t(who.lang, "dash.kpis")),
        "prev_url": f"/dashboard/weekly?year={py}&week={pw}",
        "next_url": f"/dashboard/weekly?year={ny}&week={nw}",
        "xlsx_url": f"/dashboard/weekly.xlsx?year={report.year}&week={report.week}",
    }
    return _page(request, who, "weekly.html", context)


@router.get("/dashboard/weekly.xlsx", response_model=None)
def weekly_report_xlsx(
    request: Request, who: ViewerDep, session: SessionDep, year: ReportYear = None, week: ReportWeek = None
) -> Response:
    """The weekly report as a workbook, in the viewer's language (Chinese sheet names and headers for Chinese)."""
    report = _report(request, who, session, year, week)
    if isinstance(report, HTMLResponse):
        return report
    data = weekly.report_xlsx(report, who.lang, ui_queries.site_names(session), who.tz)
    filename = f"gridwatch-weekly-{report.label}.xlsx"
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
