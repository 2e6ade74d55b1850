"""Security checks over the real API on SQLite and PostgreSQL.

- Access: the routes tests/test_api_access.py leaves out (photo batches, evidence, exports, webhooks, camera
  status and snapshots) against every kind of caller, and a check that *every* operation of the OpenAPI document
  has a row in one of the two tables, so a new route cannot ship without its access rule being tested; the web
  UI's pages send anyone but a signed-in user to the login page, and every UI route is in that table too.
- Tokens: a session token that was valid stops working once its lifetime passes (expiry and revocation by id, by
  user and by logout are in tests/test_auth.py).
- Upload rate limit: per principal on ``POST /batches`` and ``POST /cases/{id}/handle``, 429 with Retry-After.
- Audit: every case action, verdict and settings change leaves an audit entry naming the actor.
- Secrets: no private keys, cloud or chat tokens, or hard-coded credentials in the tracked files.
"""

from __future__ import annotations

import io
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from service.app import create_app
from service.auth.ratelimit import SlidingWindow
from service.core.config import Settings
from service.store.models import AuditEntry, EvidenceLink
from tests.api_fixtures import Api
from tests.conftest import ROOT, SAMPLES
from tests.db_fixtures import SITE
from tests.test_api_access import ADMIN, CALLERS, ENDPOINTS, STAFF, USERS, _headers

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]

INGEST = STAFF | {"ingest"}
_EAST = frozenset({"handler_west"})
PHOTO = (SAMPLES / "bin_point_street.jpg").read_bytes()


@dataclass(frozen=True)
class Route:
    """A route left out of tests/test_api_access.py. ``{case}``, ``{batch}``, ``{sha}``, ``{hook}`` are filled from
    real objects (an east-grid case and its evidence, a batch, a webhook); ``ok`` are the statuses an admitted
    caller may get besides 2xx-4xx (a camera with no frame yet is 503)."""

    method: str
    path: str
    admits: frozenset[str]
    json: Any = None
    upload: bool = False
    hidden_from: frozenset[str] = frozenset()
    ok: frozenset[int] = frozenset()

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


_HOOK = {"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"}
ROUTES = [
    Route("POST", "/api/v1/batches", INGEST, upload=True),
    Route("GET", "/api/v1/batches", INGEST),
    Route("GET", "/api/v1/batches/{batch}", INGEST),
    Route("GET", "/api/v1/batches/{batch}/items", INGEST),
    Route("POST", "/api/v1/batches/{batch}/cancel", STAFF),
    Route("GET", "/api/v1/evidence/{sha}", USERS, hidden_from=_EAST),
    Route("GET", "/api/v1/exports/cases.csv", USERS),
    Route("GET", "/api/v1/exports/kpis.xlsx", USERS),
    Route("GET", "/api/v1/exports/verdicts.zip", STAFF),
    Route("GET", "/api/v1/exports/ranking.csv", USERS),
    Route("GET", "/api/v1/exports/exposure.xlsx", USERS),
    Route("GET", "/api/v1/exports/quality.csv", USERS),
    Route("GET", "/api/v1/webhooks", ADMIN),
    Route("POST", "/api/v1/webhooks", ADMIN, json=_HOOK),
    Route("GET", "/api/v1/webhooks/{hook}/deliveries", ADMIN),
    Route("POST", "/api/v1/webhooks/{hook}/test", ADMIN),  # 200 with ok false: nothing listens on port 9
    Route("DELETE", "/api/v1/webhooks/{hook}", ADMIN),
    Route("GET", "/api/v1/cameras/status", USERS),
    Route("GET", "/api/v1/cameras/cam-1/status", USERS, hidden_from=_EAST),
    Route("GET", "/api/v1/cameras/cam-1/snapshot.jpg", USERS, hidden_from=_EAST, ok=frozenset({503})),
]


@dataclass
class Objects:
    """Real objects for the route templates; a fresh webhook per test (one test deletes it)."""

    case: int
    sha: str
    batch: str
    hook: int = 0
    request: int = 1  # a unit's request (tests/test_api_access.py makes real ones)

    def fill(self, path: str) -> str:
        return path.format(case=self.case, sha=self.sha, batch=self.batch, hook=self.hook, request=self.request)


@pytest.fixture(scope="module")
def shared(api: Api) -> Objects:
    case = api.dispatch(api.open_case("cam-1", "security"))  # a unit handler sees it once dispatched to its unit
    with api.ctx.store.session() as session:
        sha = session.scalars(select(EvidenceLink.sha256).where(EvidenceLink.case_id == case)).first()
    assert sha is not None
    files = {"files": ("a.jpg", io.BytesIO(PHOTO), "image/jpeg")}
    batch = api.client.post("/api/v1/batches", headers=api.as_("operator"), files=files)
    assert batch.status_code == 202, batch.text
    return Objects(case, sha, batch.json()["id"])


@pytest.fixture
def objects(api: Api, shared: Objects) -> Objects:
    hook = api.client.post("/api/v1/webhooks", headers=api.as_("admin"), json=_HOOK)
    assert hook.status_code == 201, hook.text
    return Objects(shared.case, shared.sha, shared.batch, hook.json()["id"])


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_admits_exactly_its_callers(api: Api, objects: Objects, route: Route, caller: str) -> None:
    api.client.cookies.clear()
    api.app.state.upload_limits = None  # seven callers times two backends upload here; the limit is tested below
    files = {"files": ("fix.jpg", io.BytesIO(PHOTO), "image/jpeg")} if route.upload else None
    response = api.client.request(
        route.method, objects.fill(route.path), headers=_headers(api, caller), json=route.json, files=files
    )
    if caller == "anonymous" and caller not in route.admits:
        assert response.status_code == 401, response.text
    elif caller in route.hidden_from:
        assert response.status_code == 404, response.text
    elif caller not in route.admits:
        assert response.status_code == 403, response.text
    else:
        status = response.status_code
        assert status not in (401, 403, 404) and (status < 500 or status in route.ok), response.text


def test_every_operation_of_the_openapi_document_has_an_access_row(api: Api) -> None:
    """Fails when a route is added without a row here or in tests/test_api_access.py."""
    rows = [(e.method, e.path) for e in ENDPOINTS] + [(r.method, r.path.split("?")[0]) for r in ROUTES]
    rows.append(("POST", "/api/v1/auth/login"))  # takes no credentials: tests/test_auth.py
    concrete = [(m, Objects(7, "a" * 64, "b" * 32, 3).fill(p)) for m, p in rows]
    missing = [
        f"{method.upper()} {template}"
        for template, operations in api.app.openapi()["paths"].items()
        for method in operations
        if not any(
            m == method.upper() and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) for m, path in concrete
        )
    ]
    assert not missing, f"routes without an access row: {missing}"


UI_PAGES = [
    "/",
    "/review",
    "/review/queue",
    "/thumbs/{sha}",
    "/cases",
    "/cases/{case}",
    "/cameras",
    "/cameras/cam-1",
    "/dashboard",
    # the admin screens (service/ui/pages_admin.py); tests/test_ui_admin.py checks each one's roles
    "/admin/exports",
    "/admin/exports/file",
    "/admin/batches",
    "/admin/batches/{batch}",
    "/admin/tokens",
    "/admin/tokens/table",
    "/admin/webhooks",
    "/admin/webhooks/table",
    "/admin/audit",
    "/admin/phones",
]
UI_PUBLIC = ["/login", "/static/{name}"]  # the sign-in form and its script


@pytest.mark.parametrize("page", UI_PAGES)
def test_web_ui_pages_send_everyone_but_a_signed_in_user_to_login(api: Api, shared: Objects, page: str) -> None:
    path = shared.fill(page)
    for headers in ({}, {"Authorization": f"Bearer {api.ingest_token()}"}, {"Authorization": "Bearer gws_forged"}):
        api.client.cookies.clear()
        response = api.client.get(path, headers=headers, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), headers
    api.client.cookies.clear()
    response = api.client.get(path, headers=api.as_("viewer"), follow_redirects=False)
    # the shared evidence's bytes are no picture: once the viewer is let in, the thumbnail route says so (422)
    allowed = (200, 303, 422) if page.startswith("/thumbs/") else (200, 303)
    if page.startswith("/admin/"):  # a screen of other roles is a 403 page; the export form without dates says so
        allowed = (200, 403, 422)
    assert response.status_code in allowed and not response.headers.get("location", "").startswith("/login")


def test_every_web_ui_route_is_in_the_page_table(api: Api) -> None:
    """The UI's routes are not in the OpenAPI document; a new page must be added to UI_PAGES (or UI_PUBLIC)."""
    known = [re.sub(r"\{[^}]+\}", "[^/]+", p) for p in UI_PAGES + UI_PUBLIC]
    routes = [str(getattr(r, "path", "")) for r in api.app.routes if not getattr(r, "include_in_schema", True)]
    missing = [
        r
        for r in routes
        if not r.startswith(("/docs", "/redoc", "/openapi"))
        and not any(re.fullmatch(k, re.sub(r"\{[^}]+\}", "x", r)) for k in known)
    ]
    assert routes and not missing, f"web UI routes without an access row: {missing}"


def test_a_session_token_stops_working_when_its_lifetime_passes(api: Api) -> None:
    short = {"Authorization": f"Bearer {api.token('viewer', lifetime=timedelta(seconds=2))}"}
    api.client.cookies.clear()
    assert api.client.get("/api/v1/auth/me", headers=short).status_code == 200
    time.sleep(2.2)
    refused = api.client.get("/api/v1/auth/me", headers=short)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"


# ---- upload rate limit ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def upload_window(api: Api) -> Iterator[Clock]:
    """Three uploads per principal per minute, on a clock the test moves."""
    clock = Clock()
    saved = api.app.state.upload_limits
    api.app.state.upload_limits = SlidingWindow(3, 60.0, clock=clock)
    yield clock
    api.app.state.upload_limits = saved


def _upload(api: Api, headers: dict[str, str]) -> Any:
    files = {"files": ("a.jpg", io.BytesIO(PHOTO), "image/jpeg")}
    return api.client.post("/api/v1/batches", headers=headers, files=files)


def _handle(api: Api, headers: dict[str, str], case: int) -> Any:
    files = {"photo": ("fix.jpg", io.BytesIO(PHOTO), "image/jpeg")}
    return api.client.post(f"/api/v1/cases/{case}/handle", headers=headers, files=files)


def test_uploads_are_rate_limited_per_principal_with_retry_after(api: Api, upload_window: Clock) -> None:
    api.client.cookies.clear()
    case = api.open_case("cam-1", "rate-limit")
    assert _upload(api, api.as_("operator")).status_code == 202
    assert _handle(api, api.as_("operator"), case).status_code == 409  # counted: the photo was sent
    assert _upload(api, api.as_("operator")).status_code == 202  # a new session of the same user: same quota
    upload_window.now += 10
    refused = _upload(api, api.as_("operator"))
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "50"  # the first upload leaves the window in 50 s
    assert _handle(api, api.as_("operator"), case).status_code == 429  # one quota for both upload routes
    ingest = {"Authorization": f"Bearer {api.ingest_token()}"}
    assert _upload(api, ingest).status_code == 202  # another principal is not held back
    assert _upload(api, api.as_("admin")).status_code == 202
    upload_window.now += 50
    assert _upload(api, api.as_("operator")).status_code == 202  # the window moved on


def test_upload_rate_limit_comes_from_settings(tmp_path: Path) -> None:
    limited = create_app(Settings(data_dir=tmp_path, upload_rate_limit=7, upload_rate_window_s=30))
    window = limited.state.upload_limits
    assert isinstance(window, SlidingWindow) and (window.limit, window.window) == (7, 30.0)
    assert create_app(Settings(data_dir=tmp_path, upload_rate_limit=0)).state.upload_limits is None


# ---- audit ----------------------------------------------------------------------------------------------


def _audit_count(api: Api) -> int:
    with api.ctx.store.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _last_audit(api: Api) -> AuditEntry:
    with api.ctx.store.session() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None
    return entry


@dataclass(frozen=True)
class Change:
    """A request that changes a case or the settings, and the audit action it must leave."""

    method: str
    path: str
    action: str
    json: Any = None
    photo: bool = False
    who: str = "admin"


def _case_walk(case: int, other: int) -> list[Change]:
    """Every lifecycle action and the verdicts, on two cases (one is rejected)."""
    c, deadline = f"/api/v1/cases/{case}", "2026-12-31T18:00:00+08:00"
    return [
        Change("POST", f"/api/v1/cases/{other}/actions/reject", "case.reject", {"note": "not a violation"}),
        Change("POST", f"{c}/verdicts", "case.verdict", {"verdict": "confirm"}),
        Change("POST", "/api/v1/cases/verdicts", "case.verdict", {"items": [{"case_id": other, "verdict": "reject"}]}),
        Change("POST", f"{c}/actions/file", "case.file", {"note": "real"}, who="operator"),
        Change("POST", f"{c}/actions/dispatch", "case.dispatch", {"unit_id": "u-east"}),
        Change("POST", f"{c}/actions/send_back", "case.send_back", {"note": "not ours"}, who="handler_east"),
        Change("POST", f"{c}/actions/dispatch", "case.dispatch", {"unit_id": "u-east"}),
        Change("POST", f"{c}/actions/extend", "case.extend", {"deadline": deadline}),
        Change("POST", "/api/v1/cases/actions", "case.defer", {"case_ids": [case], "action": "defer"}),
        Change("POST", f"{c}/actions/resume", "case.resume"),
        Change("POST", f"{c}/handle", "case.handle", photo=True, who="handler_east"),
        Change("POST", f"{c}/actions/return", "case.return", {"note": "still there"}),
        Change("POST", f"{c}/actions/dispatch", "case.dispatch", {"unit_id": "u-east"}),
        Change("POST", f"{c}/handle", "case.handle", photo=True),
        Change("POST", f"{c}/actions/verify", "case.verify"),
        Change("POST", f"{c}/actions/close", "case.close"),
    ]


SETTINGS_CHANGES = [
    Change(
        "POST", "/api/v1/users", "user.create", {"name": "auditee", "role": "viewer", "password": "auditee-passw0rd"}
    ),
    Change("PATCH", "/api/v1/users/auditee", "user.update", {"active": False}),
    Change("POST", "/api/v1/users/auditee/revoke-sessions", "user.revoke_sessions"),
    Change("POST", "/api/v1/tokens", "token.create", {"name": "gate", "days": 1}),
    Change("POST", "/api/v1/webhooks", "webhook.add", _HOOK),
    Change("PUT", "/api/v1/site/units/u-audit", "site.", {"id": "u-audit", "name": "Audit office"}),
    Change("PUT", "/api/v1/site/cameras/cam-2/zones", "site.", []),
    Change("DELETE", "/api/v1/site/units/u-audit", "site."),
    Change("PUT", "/api/v1/site", "site.", SITE.model_dump(mode="json")),
]


def _apply(api: Api, change: Change) -> str:
    """Send ``change``; return the action of the one audit entry it left (its actor checked)."""
    before = _audit_count(api)
    api.client.cookies.clear()
    files = {"photo": ("fix.jpg", io.BytesIO(PHOTO), "image/jpeg")} if change.photo else None
    response = api.client.request(
        change.method, change.path, headers=api.as_(change.who), json=change.json, files=files
    )
    assert response.status_code < 300, f"{change.method} {change.path}: {response.text}"
    if change.path in ("/api/v1/cases/actions", "/api/v1/cases/verdicts"):  # bulk: a status per case
        assert all(r["status"] < 300 for r in response.json()["results"]), response.text
    assert _audit_count(api) == before + 1, f"{change.method} {change.path} left no (or several) audit entries"
    entry = _last_audit(api)
    assert entry.actor == change.who
    return entry.action


def test_every_case_action_and_verdict_is_audited(api: Api) -> None:
    api.app.state.upload_limits = None
    case, other = api.open_case("cam-1", "audit-a"), api.open_case("cam-1", "audit-b")
    seen = set()
    for change in _case_walk(case, other):
        action = _apply(api, change)
        assert action == change.action, (change, action)
        seen.add(action.removeprefix("case."))
    from domain.lifecycle import Action

    assert {str(a) for a in Action} <= seen, "the walk must take every lifecycle action"


@pytest.mark.parametrize("change", SETTINGS_CHANGES, ids=lambda c: f"{c.method} {c.path}")
def test_every_settings_change_is_audited(api: Api, change: Change) -> None:
    action = _apply(api, change)
    assert action.startswith(change.action), action


def test_settings_audit_entries_keep_no_secret(api: Api) -> None:
    with api.ctx.store.session() as session:
        details = [str(e.details) for e in session.scalars(select(AuditEntry))]
    assert not [d for d in details if _HOOK["secret"] in d or "12345678" in d]


# ---- secrets in the repository --------------------------------------------------------------------------

# Built from pieces so that this file does not match its own patterns.
_BEGIN = "-----BEGIN "
SECRET_PATTERNS = {
    "private key": re.compile(_BEGIN + r"(RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY( BLOCK)?-----"),
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{60,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe/OpenAI-style key": re.compile(r"\b(sk|rk)_(live|test)_[0-9A-Za-z]{20,}\b|\bsk-[A-Za-z0-9]{40,}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "GridWatch API token": re.compile(r"\bgws_[A-Za-z0-9_-]{30,}"),
}
# Hard-coded credentials count only in shipped code and configuration; tests and docs use obvious fakes.
CREDENTIAL = re.compile(
    r"""(?ix)(password|passwd|secret|api_key|access_key|token)["']?\s*[:=]\s*["']([^"'\s]{8,})["']"""
    r"""|://[^/\s:@"']+:([^@\s/"'*]{6,})@"""
)
PLACEHOLDERS = re.compile(r"(?i)^(password|secret|pass|\*+|changeme|example.*|<.*>|\$\{.*\}|x+|your.*)$")
SECRET_FILES = re.compile(r"(^|/)(\.env(\..+)?|id_rsa|id_ed25519|.*\.pem|.*\.key|.*\.p12|.*\.pfx|credentials\.json)$")
SHIPPED = ("service/", "vision/", "training/", "datasets/", "models/", "docs/", "Dockerfile", "pyproject.toml")


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p]


def test_no_secrets_in_tracked_files() -> None:
    files = _tracked()
    assert len(files) > 50, "git ls-files found the repository"
    findings = [f"{path}: secret-looking file" for path in files if SECRET_FILES.search(path)]
    for path in files:
        full = ROOT / path
        if not full.is_file() or full.stat().st_size > 5_000_000:
            continue
        data = full.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary: images, models
        text = data.decode("utf-8", "replace")
        findings += [f"{path}: {what}" for what, pattern in SECRET_PATTERNS.items() if pattern.search(text)]
        # vendored third-party bundles (service/ui/static/vendor, with their licences) hold minified UI strings
        # such as 'password:"),B?...' that are no credential; the token and key patterns above still apply to them
        if path.startswith(SHIPPED) and "/static/vendor/" not in path:
            for match in CREDENTIAL.finditer(text):
                value = match.group(2) or match.group(3) or ""
                if not PLACEHOLDERS.match(value):
                    findings.append(f"{path}: hard-coded credential {match.group(0)[:40]!r}")
    assert not findings, "\n".join(findings)


def test_the_secret_scan_finds_what_it_looks_for() -> None:
    """The patterns themselves work (a scan that finds nothing because it is broken proves nothing)."""
    samples = {
        "private key": _BEGIN + "OPENSSH PRIVATE KEY-----",
        "AWS access key": "AKIA" + "ABCDEFGHIJKLMNOP",
        "GitHub token": "ghp_" + "a" * 36,
        "JSON web token": ".".join(
            ["eyJ" + "hbGciOiJIUzI1NiJ9", "eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0", "abcdefghijklmnop"]
        ),
    }
    for what, text in samples.items():
        assert SECRET_PATTERNS[what].search(text), what
    assert CREDENTIAL.search('db_password = "hunter2hunter2"')
    assert CREDENTIAL.search("postgresql://app:s3cr3tpw@db/gridwatch")
    found = CREDENTIAL.search("postgresql+psycopg://user:password@host/gridwatch")
    assert found is not None and PLACEHOLDERS.match(found.group(3) or "")
