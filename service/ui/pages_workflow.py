"""The command centre's workflow screens (issue 17): units' 延期 / 缓办 requests and the centre's decisions, cases
filed by hand (12345 hotline, inspectors), violations the cameras missed, the detector's quality from verdicts and
misses, and users with their roles and scopes.

As every page of the UI, these only read: their forms are sent by ``workflow.js`` to the REST API (``/requests``,
``/cases/manual``, ``/quality/misses``, ``/users``), so access rules, the lifecycle and the audit log apply as
for any client, and a refusal is said in the page's language (:mod:`service.ui.api_errors`) while the form keeps
what was typed. Who sees which page: everyone reads the requests (a unit handler its own unit's) and the quality
figures (a unit handler those of its grids); the centre (admins, operators) decides requests, files cases and
reports misses; admins manage users.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from domain.taxonomy import LABEL_NAMES, label
from service.api.deps import CtxDep, SessionDep
from service.auth import users
from service.cases import queries as case_queries
from service.cases.quality import NO_CAMERA, Quality, QualityBy, misses, quality
from service.store.models import CaseSource, RequestState, Role
from service.ui import i18n
from service.ui import queries as ui_queries
from service.ui.api_errors import error_words
from service.ui.i18n import Lang
from service.ui.pages import Viewer, ViewerDep, _due_note, _page, _utc_offset

router = APIRouter(include_in_schema=False)

DECIDED_SHOWN = 30  # the requests page's recent decisions
DECIDED = (RequestState.APPROVED, RequestState.REFUSED)
QUEUE_LIMIT = 500  # as the requests API's largest page
MISSES_SHOWN = 20  # the miss form's recent misses
QUALITY_WEEKS = 8
# A rate under this marks a row for attention: cities report "accuracy > 90 %" for their vendors' systems, and a
# camera or label under 80 % precision or recall is where an operator's time goes first.
ATTENTION = 0.8
FEW = 5  # fewer reviewed cases and misses than this: the rates say little yet


def _refused(request: Request, who: Viewer) -> HTMLResponse:
    return _page(request, who, "error.html", {"status": 403, "message": i18n.t(who.lang, "wf.forbidden")}, 403)


def _form_page(request: Request, who: Viewer, template: str, context: dict[str, Any]) -> HTMLResponse:
    """A page with workflow forms: they need the site's UTC offset (local times are sent with it) and the words
    for the API's refusals."""
    extra = {"utc_offset": _utc_offset(who.tz), "api_errors": error_words(who.lang)}
    return _page(request, who, template, context | extra)


def _local_input(who: Viewer, moment: datetime | None) -> str:
    """A ``datetime-local`` input's value in the site's zone."""
    return moment.astimezone(who.tz).strftime("%Y-%m-%dT%H:%M") if moment else ""


# ---- units' requests ------------------------------------------------------------------------------------


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, who: ViewerDep, session: SessionDep) -> HTMLResponse:
    """The centre's queue of 延期 / 缓办 requests, oldest first, with approve and refuse for the centre, and the
    latest decisions; a unit handler sees its own unit's requests."""
    units = who.principal.units
    now = datetime.now(UTC)
    context = {
        "pending": case_queries.list_requests(session, units, [RequestState.PENDING], limit=QUEUE_LIMIT),
        "decided": case_queries.list_requests(session, units, DECIDED, limit=DECIDED_SHOWN, newest_first=True),
        "decides": who.reviews,
        "asks": who.principal.role is Role.UNIT_HANDLER,
        "names": ui_queries.site_names(session),
        "due_note": partial(_due_note, who.lang, now),
        "local_input": partial(_local_input, who),
    }
    return _form_page(request, who, "requests.html", context)


# ---- cases filed by hand and misses ---------------------------------------------------------------------


@router.get("/intake", response_class=HTMLResponse)
def intake_page(request: Request, who: ViewerDep, ctx: CtxDep) -> HTMLResponse:
    """The form for a hotline call or an inspector's report (the centre's): place, grid and unit by name from the
    site configuration the API places the case with."""
    if not who.reviews:
        return _refused(request, who)
    site = ctx.site
    grid_names = {g.id: g.name for g in site.grids}
    context = {
        "sources": [CaseSource.HOTLINE, CaseSource.INSPECTOR],
        "places": [(p.id, f"{p.name} · {grid_names.get(p.grid, p.grid)}") for p in site.places],
        "grids": [(g.id, g.name) for g in site.grids],
        "units": [(u.id, u.name) for u in site.units],
        "now": _local_input(who, datetime.now(UTC)),
    }
    return _form_page(request, who, "intake.html", context)


def _labels(lang: Lang) -> list[tuple[str, str, str]]:
    """Detector labels that raise a violation: (name, as operators say it, the violations it raises)."""
    rows = [(name, i18n.label_name(lang, name), label(name).violations) for name in LABEL_NAMES]
    return [(name, shown, " ".join(violations)) for name, shown, violations in rows if violations]


@router.get("/quality/miss", response_class=HTMLResponse)
def miss_page(request: Request, who: ViewerDep, session: SessionDep) -> HTMLResponse:
    """The form for a violation a camera showed and GridWatch missed (the centre's), with the latest misses."""
    if not who.reviews:
        return _refused(request, who)
    now = datetime.now(UTC)
    context = {
        "cameras": ui_queries.site_options(session).cameras,
        "labels": _labels(who.lang),
        "recent": misses(session, now - timedelta(weeks=QUALITY_WEEKS), now + timedelta(minutes=1), limit=MISSES_SHOWN),
        "names": ui_queries.site_names(session),
        "now": _local_input(who, now),
    }
    return _form_page(request, who, "miss.html", context)


# ---- quality --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityRow:
    """A row of a quality table: who it is about, as people say it, and its figures."""

    name: str
    figures: Quality

    @property
    def worst(self) -> float | None:
        """The lower of precision and recall (None when neither is known): what ranks a row for attention."""
        rates = [r for r in (self.figures.precision, self.figures.recall) if r is not None]
        return min(rates) if rates else None

    @property
    def attention(self) -> bool:
        return self.worst is not None and self.worst < ATTENTION

    @property
    def few(self) -> bool:
        return self.figures.reviewed + self.figures.missed < FEW


def worst_first(rows: Sequence[QualityRow]) -> list[QualityRow]:
    """The lowest rate first; rows with no rate last; ties: more evidence first, then by name."""
    return sorted(rows, key=lambda r: (r.worst is None, r.worst or 0.0, -r.figures.reviewed - r.figures.missed, r.name))


def _quality_rows(figures: list[Quality], name: Callable[[str], str]) -> list[QualityRow]:
    return [QualityRow(name(q.key or ""), q) for q in figures]


@router.get("/quality", response_class=HTMLResponse)
def quality_page(
    request: Request,
    who: ViewerDep,
    session: SessionDep,
    weeks: Annotated[int, Query(ge=1, le=52)] = QUALITY_WEEKS,
) -> HTMLResponse:
    """Precision and recall of the last ``weeks`` ISO weeks per label and per camera (worst first) and per week
    (newest first), from :func:`service.cases.quality.quality` as the API and exports compute them; a unit
    handler's cover its grids."""
    start, end, _ = ui_queries.weeks_back(datetime.now(UTC), who.tz, weeks)
    names = ui_queries.site_names(session)
    lang = who.lang

    def figures(by: QualityBy | None) -> list[Quality]:
        return quality(session, start, end, by, who.tz, grids=who.principal.grids)

    def camera(key: str) -> str:
        return i18n.t(lang, "wf.quality.photos") if key == NO_CAMERA else names.camera(key)

    by_week = _quality_rows(figures(QualityBy.WEEK), lambda key: i18n.week_name(lang, key, long=True))
    context = {
        "weeks": weeks,
        "period": (start, end - timedelta(seconds=1)),
        "overall": QualityRow(i18n.t(lang, "wf.quality.overall"), figures(None)[0]),
        "tables": [
            ("label", worst_first(_quality_rows(figures(QualityBy.LABEL), partial(i18n.label_name, lang)))),
            ("camera", worst_first(_quality_rows(figures(QualityBy.CAMERA), camera))),
            ("week", list(reversed(by_week))),
        ],
        "scoped": who.principal.grids is not None,
    }
    return _page(request, who, "quality.html", context)


# ---- users ----------------------------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, who: ViewerDep, session: SessionDep) -> HTMLResponse:
    """Every user with its role, unit and grids by name; forms to create one and to change a role or a unit
    handler's scope (admins only)."""
    if who.principal.role is not Role.ADMIN:
        return _refused(request, who)
    options = ui_queries.site_options(session)
    context = {
        "users": users.list_users(session),
        "roles": list(Role),
        "grids": options.grids,
        "units": options.units,
        "names": ui_queries.site_names(session),
        "handler": Role.UNIT_HANDLER,
    }
    return _form_page(request, who, "users.html", context)
