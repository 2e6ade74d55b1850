"""Passwords, the login rate limit, token expiry and revocation, cookie sessions, ingest tokens, the first admin
and the CLI; through the real API on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from cli.main import main
from domain.errors import PasswordError
from service.api.deps import SESSION_COOKIE, Ingest
from service.app import create_app
from service.auth import tokens
from service.auth.login import LoginLimits
from service.auth.passwords import hash_password, verify_password
from service.auth.ratelimit import SlidingWindow
from service.auth.users import get_user
from service.core.config import Settings
from service.store.db import open_store
from service.store.models import AuditEntry, AuthToken
from tests.api_fixtures import PASSWORD, Api
from vision.detector import Detector

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"


def test_password_hash_is_salted_and_verifies() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse", "scrypt$14$8$1$not-base64!$xx")
    assert not verify_password("correct horse", "md5$abc")
    with pytest.raises(PasswordError):
        hash_password("short")


def test_sliding_window_counts_recent_events_only() -> None:
    now = [0.0]
    window = SlidingWindow(3, 60.0, clock=lambda: now[0], max_keys=2)
    for _ in range(3):
        window.hit("a")
    assert window.retry_after("a") == 60.0 and window.retry_after("b") is None
    now[0] = 30.0
    assert window.retry_after("a") == 30.0
    now[0] = 60.0
    assert window.retry_after("a") is None  # the first events left the window
    window.hit("b")
    window.hit("c")  # over max_keys: "a" (nothing recent) is forgotten, not "b"
    window.hit("b")
    assert set(window._events) == {"b", "c"}


def _login(api: Api, name: str, password: str) -> int:
    api.client.cookies.clear()
    return int(api.client.post(LOGIN, json={"username": name, "password": password}).status_code)


def test_login_sets_an_httponly_cookie_and_audits(api: Api) -> None:
    api.client.cookies.clear()
    response = api.client.post(LOGIN, json={"username": "operator", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {**body["user"], "name": "operator", "role": "operator"}
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}={body['access_token']}" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert api.client.get(ME).json()["name"] == "operator"  # the cookie alone authenticates
    with api.ctx.store.session() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last is not None and (last.actor, last.action) == ("operator", "auth.login")


def test_wrong_password_and_unknown_user_are_the_same_401(api: Api) -> None:
    wrong = api.client.post(LOGIN, json={"username": "viewer", "password": "not-it-at-all"})
    unknown = api.client.post(LOGIN, json={"username": "nobody", "password": "not-it-at-all"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_login_rate_limit_per_name_and_address(api: Api) -> None:
    api.app.state.login_limits = LoginLimits.standard()
    for _ in range(5):
        assert _login(api, "admin", "wrong-password") == 401
    api.client.cookies.clear()
    throttled = api.client.post(LOGIN, json={"username": "admin", "password": PASSWORD})
    assert throttled.status_code == 429 and 1 <= int(throttled.headers["retry-after"]) <= 61
    assert _login(api, "operator", PASSWORD) == 200  # another name from the same address still signs in
    api.app.state.login_limits = LoginLimits.standard()


def test_expired_and_revoked_tokens_are_refused(api: Api) -> None:
    expired = api.token("viewer", lifetime=timedelta(seconds=-1))
    assert api.client.get(ME, headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    live = api.as_("viewer")
    api.client.cookies.clear()
    assert api.client.get(ME, headers=live).status_code == 200
    assert api.client.post("/api/v1/auth/logout", headers=live).status_code == 204
    assert api.client.get(ME, headers=live).status_code == 401
    assert api.client.get(ME, headers={"Authorization": "Bearer gws_made-up"}).status_code == 401
    assert api.client.get(ME, headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code == 401


def test_admin_revokes_ingest_token_and_user_sessions(api: Api) -> None:
    admin = api.as_("admin")
    created = api.client.post("/api/v1/tokens", headers=admin, json={"name": "gate-box", "days": 1})
    assert created.status_code == 201
    machine = {"Authorization": f"Bearer {created.json()['token']}"}
    assert api.client.get(ME, headers=machine).json()["scopes"] == ["ingest"]
    assert api.client.get("/api/v1/cases", headers=machine).status_code == 403  # a machine is not a user
    assert api.client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=admin).status_code == 204
    assert api.client.get(ME, headers=machine).status_code == 401
    with api.ctx.store.session() as session:
        row = session.get(AuthToken, created.json()["id"])
        assert row is not None and row.token_hash != created.json()["token"]  # only the hash is kept

    handler = api.as_("handler_east")
    assert api.client.post("/api/v1/users/handler_east/revoke-sessions", headers=admin).status_code == 204
    assert api.client.get(ME, headers=handler).status_code == 401


def test_deactivated_user_cannot_sign_in_or_use_old_tokens(api: Api) -> None:
    admin = api.as_("admin")
    assert (
        api.client.post(
            "/api/v1/users", headers=admin, json={"name": "temp", "role": "viewer", "password": PASSWORD}
        ).status_code
        == 201
    )
    old = api.as_("temp")
    assert api.client.patch("/api/v1/users/temp", headers=admin, json={"active": False}).status_code == 200
    assert api.client.get(ME, headers=old).status_code == 401
    assert _login(api, "temp", PASSWORD) == 401


def test_user_rules_are_422_and_duplicates_409(api: Api) -> None:
    admin = api.as_("admin")

    def post(body: dict[str, Any]) -> Any:
        return api.client.post("/api/v1/users", headers=admin, json=body)

    assert post({"name": "h2", "role": "unit_handler", "password": PASSWORD}).status_code == 422  # needs grids
    assert post({"name": "h2", "role": "unit_handler", "password": PASSWORD, "grids": ["nowhere"]}).status_code == 422
    assert post({"name": "o2", "role": "operator", "password": PASSWORD, "grids": ["g-east"]}).status_code == 422
    short = post({"name": "o2", "role": "operator", "password": "short"})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
    assert post({"name": "Operator", "role": "viewer", "password": PASSWORD}).status_code == 409
    assert post({"name": "o3", "role": "root", "password": PASSWORD, "extra": 1}).status_code == 422


def test_cookie_writes_from_another_origin_are_refused(api: Api) -> None:
    assert _login(api, "operator", PASSWORD) == 200
    case_id = api.open_case("cam-2", "csrf")
    url = f"/api/v1/cases/{case_id}/actions/file"
    assert api.client.post(url, headers={"Origin": "https://evil.example"}).status_code == 403
    assert api.client.post(url, headers={"Origin": "http://testserver"}).status_code == 200
    api.client.cookies.clear()


def test_require_scope_admits_ingest_tokens_and_staff(api: Api) -> None:
    probe = APIRouter()

    @probe.post("/probe-ingest")
    def ingest(principal: Ingest) -> dict[str, str]:
        return {"who": principal.name}

    api.app.include_router(probe)
    api.client.cookies.clear()
    machine = {"Authorization": f"Bearer {api.ingest_token()}"}
    assert api.client.post("/probe-ingest", headers=machine).json() == {"who": "token:camera-box"}
    assert api.client.post("/probe-ingest", headers=api.as_("operator")).status_code == 200
    assert api.client.post("/probe-ingest", headers=api.as_("viewer")).status_code == 403
    assert api.client.post("/probe-ingest", headers=api.as_("handler_east")).status_code == 403
    expired = {"Authorization": f"Bearer {api.ingest_token(timedelta(seconds=-1))}"}
    assert api.client.post("/probe-ingest", headers=expired).status_code == 401


def test_first_admin_comes_from_the_environment(tmp_path: Path, detector: Detector) -> None:
    """Without the variable a random password is made (tests/test_workflow_first_run.py)."""

    def start(password: str | None) -> FastAPI:
        secret = SecretStr(password) if password else None
        return create_app(Settings(data_dir=tmp_path, admin_password=secret, model=detector.path), detector=detector)

    with TestClient(start("first-admin-pw")) as client:
        assert client.post(LOGIN, json={"username": "admin", "password": "first-admin-pw"}).status_code == 200
    with TestClient(start("another-password")) as client:  # users exist: the variable changes nothing
        assert client.post(LOGIN, json={"username": "admin", "password": "another-password"}).status_code == 401


def test_cli_user_add_and_token_create(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-password-1\n"))
    assert main(["user", "add", "admin", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-password-2\n"))
    assert main(["user", "add", "east", "--role", "unit_handler", "--password-stdin"]) == 2  # no --grid
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["token", "create", "--name", "box", "--scope", "ingest", "--days", "2"]) == 0
    value = out.getvalue().strip()
    store = open_store(f"sqlite:///{tmp_path / 'gridwatch.db'}")
    with store.session() as session:
        admin = get_user(session, "admin")
        assert admin is not None and verify_password("cli-password-1", admin.password_hash)
        principal = tokens.resolve(session, value)
        assert principal is not None and principal.name == "token:box"
        late = datetime.now(UTC) + timedelta(days=2, minutes=1)
        assert tokens.resolve(session, value, now=late) is None
    store.dispose()
