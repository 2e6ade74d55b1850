"""The admin and operator screens of features the API had alone: exports, photo-batch upload with live progress,
ingest tokens, the audit log, webhooks and the phone numbers read on posters.

As in :mod:`service.ui.pages`, pages only read, through the same store functions as the API routes; every change
(an upload, a token created or revoked, a webhook added, tested or removed) is sent by ``admin.js`` to the REST API,
so its access rules and audit apply unchanged. Each screen admits the roles its API admits (:data:`SCREENS`); the
others get a 403 page in their language. The admin menu of every page lists the screens the user may open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from domain.lifecycle import Action
from service.api.deps import ALL_ROLES, STAFF, CtxDep, SessionDep
from service.api.period import MAX_PERIOD
from service.api.routes.batches import ERRORS_SHOWN
from service.auth import audit, tokens
from service.batches import store as batches
from service.cases.caselog import LogAction
from service.cases.kpi import GroupBy
from service.cases.phones import phone_report
from service.integrations.webhooks import webhook_statuses
from service.store.models import BatchState, ItemState, Role, TokenKind
from service.ui import admin_words, i18n
from service.ui import queries as ui_queries
from service.ui.i18n import Lang
from service.ui.pages import PageDep, Viewer, ViewerDep, _page, templates

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 50
RECENT_BATCHES = 10
_BATCH_ID = re.compile(r"[0-9a-f]{32}")
_FORMATS = ("xlsx", "csv")
_EXPORTS = ("cases", "kpis")


@dataclass(frozen=True)
class Screen:
    """One admin screen: its path, the message key of its name, and the roles its API admits."""

    path: str
    key: str
    roles: frozenset[Role]


SCREENS: tuple[Screen, ...] = (
    Screen("/admin/exports", "adm.nav.exports", frozenset(ALL_ROLES)),  # exports: any user, scoped to what it sees
    Screen("/admin/batches", "adm.nav.batches", frozenset(STAFF)),  # POST /batches: staff (or an ingest token)
    Screen("/admin/phones", "adm.nav.phones", frozenset(ALL_ROLES)),  # the phone report: any user, scoped
    Screen("/admin/tokens", "adm.nav.tokens", frozenset({Role.ADMIN})),
    Screen("/admin/webhooks", "adm.nav.webhooks", frozenset({Role.ADMIN})),
    Screen("/admin/audit", "adm.nav.audit", frozenset({Role.ADMIN})),
)
_SCREEN = {s.path: s for s in SCREENS}


def screens_for(role: Role | None) -> list[Screen]:
    """The screens ``role`` may open, for the admin menu of ``base.html``."""
    return [s for s in SCREENS if role in s.roles]


templates.env.globals["admin_screens"] = screens_for


def _refused(request: Request, who: Viewer, path: str) -> HTMLResponse | None:
    """The 403 page when the viewer's role may not use the screen at ``path``; None when it may."""
    if who.principal.role in _SCREEN[path].roles:
        return None
    message = i18n.t(who.lang, "adm.forbidden")
    return _page(request, who, "error.html", {"status": 403, "message": message}, status=403)


def _words(lang: Lang, prefix: str) -> dict[str, str]:
    """Every message under ``prefix`` (``adm.error.``), keyed by the rest: what ``admin.js`` says."""
    return {k.removeprefix(prefix): i18n.t(lang, k) for k in i18n.MESSAGES if k.startswith(prefix)}


def _script_words(lang: Lang) -> dict[str, str]:
    return _words(lang, "adm.error.") | {
        k: i18n.t(lang, f"adm.{k}")
        for k in (
            "batches.no_files",
            "batches.uploading",
            "tokens.created",
            "tokens.copied",
            "tokens.confirm_revoke",
            "tokens.done_revoke",
            "tokens.need_name",
            "tokens.bad_days",
            "hooks.added",
            "hooks.test_ok",
            "hooks.test_status",
            "hooks.test_no_answer",
            "hooks.confirm_remove",
            "hooks.removed",
            "hooks.bad_url",
            "hooks.short_secret",
        )
    }


def _admin_page(request: Request, who: Viewer, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return _page(request, who, template, context | {"admin_words": _script_words(who.lang)}, status)


# ---- exports --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportChoice:
    """The export form's values as sent (kept as typed, so a refused form comes back filled in)."""

    what: str
    start: str
    end: str
    grid: str
    by: str
    fmt: str


def _export_url(choice: ExportChoice, grids: set[str], tz: ZoneInfo, lang: Lang) -> str:
    """The API's export URL for a valid choice; raises ValueError with the message key of what is wrong."""
    try:
        first, last = date.fromisoformat(choice.start), date.fromisoformat(choice.end)
    except ValueError:
        raise ValueError("adm.error.bad_date") from None
    if last < first:
        raise ValueError("adm.error.bad_dates")
    if last - first >= MAX_PERIOD:
        raise ValueError("adm.error.too_long")
    if choice.grid and choice.grid not in grids:
        raise ValueError("adm.error.unknown_grid")
    # Whole local days: from the first day's midnight to the midnight after the last, in the site's zone.
    since = datetime.combine(first, time(), tz).isoformat()
    until = datetime.combine(last + timedelta(days=1), time(), tz).isoformat()
    fmt = choice.fmt if choice.fmt in _FORMATS else _FORMATS[0]
    query: dict[str, str] = {"lang": lang}
    if choice.what == "kpis":
        query |= {"start": since, "end": until} | ({"by": choice.by} if choice.by in set(GroupBy) else {})
        return f"/api/v1/exports/kpis.{fmt}?{urlencode(query)}"
    query |= {"since": since, "until": until} | ({"grid": choice.grid} if choice.grid else {})
    return f"/api/v1/exports/cases.{fmt}?{urlencode(query)}"


def _exports_form(
    request: Request, who: Viewer, session: Session, choice: ExportChoice, error: str | None = None
) -> Response:
    context = {
        "choice": choice,
        "error": i18n.t(who.lang, error) if error else None,
        "grids": ui_queries.site_options(session).grids,
        "groups": list(GroupBy),
        "formats": _FORMATS,
        "exports": _EXPORTS,
    }
    return _admin_page(request, who, "admin_exports.html", context, status=422 if error else 200)


@router.get("/admin/exports", response_class=HTMLResponse, response_model=None)
def exports_page(request: Request, who: ViewerDep, session: SessionDep) -> Response:
    """The export form: what (cases or KPIs), the period in local days (the last four weeks), grid, format."""
    if refused := _refused(request, who, "/admin/exports"):
        return refused
    today = datetime.now(who.tz).date()
    choice = ExportChoice("cases", (today - timedelta(days=27)).isoformat(), today.isoformat(), "", "", "xlsx")
    return _exports_form(request, who, session, choice)


@router.get("/admin/exports/file", response_model=None)
def export_file(
    request: Request,
    who: ViewerDep,
    session: SessionDep,
    what: Annotated[str, Query(max_length=20)] = "cases",
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
    grid: Annotated[str, Query(max_length=64)] = "",
    by: Annotated[str, Query(max_length=20)] = "",
    fmt: Annotated[str, Query(alias="format", max_length=8)] = "xlsx",
) -> Response:
    """Sends the browser on to the export API with the chosen query; a bad choice shows the form again, filled in,
    with what is wrong (422)."""
    if refused := _refused(request, who, "/admin/exports"):
        return refused
    choice = ExportChoice(what if what in _EXPORTS else "cases", start, end, grid, by, fmt)
    grids = {key for key, _ in ui_queries.site_options(session).grids}
    try:
        url = _export_url(choice, grids, who.tz, who.lang)
    except ValueError as exc:
        return _exports_form(request, who, session, choice, str(exc))
    return RedirectResponse(url, status_code=303)


# ---- photo batches --------------------------------------------------------------------------------------


def _batch_context(session: Session, who: Viewer, batch_id: str) -> dict[str, Any] | None:
    """A batch's progress, the cases it touched and its failed photos with their reasons in the viewer's words."""
    batch = batches.get_batch(session, batch_id)
    if batch is None:
        return None
    failed = batches.list_items(session, batch_id, state=ItemState.FAILED, limit=ERRORS_SHOWN)
    return {
        "batch": batch,
        "done": batch.state == BatchState.DONE,
        "percent": round(100 * batch.processed / batch.total) if batch.total else 100,
        "cases": batches.batch_cases(session, batch_id),
        "failed": [(item.name, admin_words.photo_error(who.lang, item.error)) for item in failed],
        "rejected": [(r["name"], admin_words.photo_error(who.lang, r["error"])) for r in batch.rejected],
    }


@router.get("/admin/batches", response_class=HTMLResponse, response_model=None)
def batches_page(request: Request, who: ViewerDep, ctx: CtxDep, session: SessionDep) -> Response:
    """The upload form (photos or zips, an optional patrol place) and the recent batches, unfinished ones updating
    themselves every second (htmx polls :func:`batch_fragment`)."""
    if refused := _refused(request, who, "/admin/batches"):
        return refused
    recent = [_batch_context(session, who, b.id) for b in batches.list_batches(session, limit=RECENT_BATCHES)]
    context = {
        "places": [(p.id, p.name) for p in ctx.site.places],
        "recent": [r for r in recent if r is not None],
        "names": ui_queries.site_names(session),
    }
    return _admin_page(request, who, "admin_batches.html", context)


@router.get("/admin/batches/{batch_id}", response_class=HTMLResponse, response_model=None)
def batch_fragment(request: Request, batch_id: str, who: ViewerDep, session: SessionDep) -> Response:
    """One batch's card alone (an htmx fragment); it stops asking for itself once the batch is done."""
    if refused := _refused(request, who, "/admin/batches"):
        return refused
    context = _batch_context(session, who, batch_id) if _BATCH_ID.fullmatch(batch_id) else None
    if context is None:
        return _page(request, who, "error.html", {"status": 404, "message": batch_id[:40]}, status=404)
    return _page(request, who, "_batch.html", context | {"names": ui_queries.site_names(session)})


# ---- ingest tokens --------------------------------------------------------------------------------------


def _token_state(row: Any, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= now else "active"


def _tokens_context(session: Session) -> dict[str, Any]:
    now = datetime.now(UTC)
    rows = tokens.list_tokens(session, TokenKind.API, include_inactive=True)
    return {"tokens": [(row, _token_state(row, now)) for row in rows]}


@router.get("/admin/tokens", response_class=HTMLResponse, response_model=None)
def tokens_page(request: Request, who: ViewerDep, session: SessionDep) -> Response:
    """Machine tokens, newest first, revoked and expired ones too; the form creates one (shown once)."""
    if refused := _refused(request, who, "/admin/tokens"):
        return refused
    return _admin_page(request, who, "admin_tokens.html", _tokens_context(session))


@router.get("/admin/tokens/table", response_class=HTMLResponse, response_model=None)
def tokens_table(request: Request, who: ViewerDep, session: SessionDep) -> Response:
    """The token table alone: ``admin.js`` swaps it in after a token is created or revoked."""
    if refused := _refused(request, who, "/admin/tokens"):
        return refused
    return _page(request, who, "_tokens.html", _tokens_context(session))


# ---- webhooks -------------------------------------------------------------------------------------------


def _hooks_context(session: Session) -> dict[str, Any]:
    # What a webhook may subscribe to: every case-log action, transitions and other entries alike.
    return {"hooks": webhook_statuses(session), "events": [*(a.value for a in Action), *(a.value for a in LogAction)]}


@router.get("/admin/webhooks", response_class=HTMLResponse, response_model=None)
def webhooks_page(request: Request, who: ViewerDep, session: SessionDep) -> Response:
    """Webhooks with their latest delivery; the form adds one, each row tests or removes its webhook."""
    if refused := _refused(request, who, "/admin/webhooks"):
        return refused
    return _admin_page(request, who, "admin_webhooks.html", _hooks_context(session))


@router.get("/admin/webhooks/table", response_class=HTMLResponse, response_model=None)
def webhooks_table(request: Request, who: ViewerDep, session: SessionDep) -> Response:
    if refused := _refused(request, who, "/admin/webhooks"):
        return refused
    return _page(request, who, "_webhooks.html", _hooks_context(session))


# ---- audit log ------------------------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/admin/audit", response_class=HTMLResponse, response_model=None)
def audit_page(
    request: Request,
    who: ViewerDep,
    session: SessionDep,
    actor: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=40)] = "",
    page: PageDep = 1,
) -> Response:
    """The audit log, newest first, a page at a time, filtered by user, action and local days."""
    if refused := _refused(request, who, "/admin/audit"):
        return refused
    start, end = _day(date_from), _day(date_to)
    rows, total = audit.list_entries(
        session,
        actor=actor or None,
        action=action or None,
        since=datetime.combine(start, time(), who.tz) if start else None,
        until=datetime.combine(end + timedelta(days=1), time(), who.tz) if end else None,
        limit=AUDIT_PAGE,
        offset=(page - 1) * AUDIT_PAGE,
    )
    pages = max(1, -(-total // AUDIT_PAGE))
    chosen = {
        "actor": actor,
        "action": action,
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
    }
    query = {k: v for k, v in chosen.items() if v}
    names = ui_queries.site_names(session)
    context = {
        "rows": [
            (
                row,
                admin_words.audit_action(who.lang, row.action),
                admin_words.audit_target(who.lang, row.target, names),
                admin_words.audit_details(who.lang, row.details),
            )
            for row in rows
        ],
        "total": total,
        "page": min(page, pages),
        "pages": pages,
        "page_url": lambda n: str(request.url.replace_query_params(**query, page=n)),
        "chosen": chosen,
        "actors": audit.distinct_values(session, "actor"),
        "actions": [(a, admin_words.audit_action(who.lang, a)) for a in audit.distinct_values(session, "action")],
    }
    return _admin_page(request, who, "admin_audit.html", context)


# ---- phone numbers --------------------------------------------------------------------------------------


@router.get("/admin/phones", response_class=HTMLResponse, response_model=None)
def phones_page(
    request: Request,
    who: ViewerDep,
    session: SessionDep,
    min_cases: Annotated[str, Query(max_length=20)] = "1",
) -> Response:
    """The numbers read on the posters of the cases the viewer sees, on most cases first, linked to the cases; a
    minimum that is no whole number from 1 is said so (and 1 used)."""
    if refused := _refused(request, who, "/admin/phones"):
        return refused
    least = int(min_cases) if min_cases.strip().isdigit() and 1 <= int(min_cases) <= 10_000 else None
    context = {
        "report": phone_report(session, units_visible=who.principal.units, min_cases=least or 1),
        "min_cases": min_cases,
        "error": None if least else i18n.t(who.lang, "adm.error.min_cases"),
        "names": ui_queries.site_names(session),
    }
    return _admin_page(request, who, "admin_phones.html", context, status=200 if least else 422)
