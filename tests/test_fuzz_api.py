"""Schemathesis fuzzes every operation of the OpenAPI document against ``gridwatch serve`` (a real uvicorn child on a
tmp SQLite store, tests.service_process): valid and invalid bodies, parameters and headers, each sent anonymously
and as an admin. No answer may be a 5xx, except a deliberate 503 that says when to try again (a camera the fuzzer
added has no frame yet) and readiness saying not ready; nothing may be logged as an unhandled error.

``GRIDWATCH_FUZZ_EXAMPLES`` bounds the examples per operation (default 12: a couple of minutes on two cores;
``make reliability`` runs more). An admin token the fuzzer revoked or an admin it disabled is restored before every
call, so the admin half keeps reaching past the access checks.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from sqlalchemy import update

from service.app import create_app
from service.auth import tokens
from service.auth.users import get_user
from service.core.config import Settings
from service.core.site import dump_site
from service.store.db import open_store
from service.store.models import Role, User
from tests.db_fixtures import SITE
from tests.service_process import ServiceProcess

EXAMPLES = int(os.environ.get("GRIDWATCH_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    root = tmp_path_factory.mktemp("fuzz")
    site = root / "site.yaml"
    dump_site(SITE, site)
    env = {"GRIDWATCH_SITE": str(site), "GRIDWATCH_UPLOAD_RATE_LIMIT": "0", "GRIDWATCH_THREADS": "1"}
    with ServiceProcess(root, env) as service:
        yield service
    assert "unhandled error" not in service.logs(), service.log_tail()  # what errors.py logs with a 500


class Admin:
    """A signed-in admin whatever the fuzzer did to it (revoked its sessions, disabled it, changed its role). Its
    tokens are issued in the store: the fuzzer's failed logins from this address soon throttle the login route."""

    def __init__(self, server: ServiceProcess) -> None:
        self.server = server
        self.store = open_store(f"sqlite:///{server.data_dir / 'gridwatch.db'}", migrate=False)
        self.headers = self._issue()

    def _issue(self) -> dict[str, str]:
        with self.store.transaction() as session:
            session.execute(update(User).where(User.name == "admin").values(active=True, role=Role.ADMIN))
            user = get_user(session, "admin")
            assert user is not None
            return {"Authorization": f"Bearer {tokens.issue_session(session, user, timedelta(hours=1)).value}"}

    def ensure(self) -> dict[str, str]:
        if httpx.get(f"{self.server.url}/api/v1/auth/me", headers=self.headers).status_code != 200:
            self.headers = self._issue()
        return self.headers


@pytest.fixture(scope="module")
def admin(server: ServiceProcess) -> Iterator[Admin]:
    who = Admin(server)
    yield who
    who.store.dispose()


def _schema() -> schemathesis.BaseSchema:
    """The OpenAPI document of the app as built (no store is opened: the lifespan does not run)."""
    with tempfile.TemporaryDirectory() as tmp:
        return schemathesis.openapi.from_dict(create_app(Settings(data_dir=Path(tmp))).openapi())


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_no_operation_answers_5xx(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, server: ServiceProcess, admin: Admin
) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case[Any]) -> None:
        for who, headers in (("anonymous", None), ("admin", admin.ensure())):
            response = case.call(base_url=server.url, headers=headers, timeout=60)
            assert response.status_code < 500 or _try_later(case, response), (
                f"{case.method} {case.formatted_path} as {who}: {response.status_code} {response.text[:300]}\n"
                f"reproduce: {case.as_curl_command(headers=headers, base_url=server.url)}\n{server.log_tail(3000)}"
            )

    try:
        fuzz()
    except Unsatisfiable:  # negative mode: an operation with no parameters and no body has no invalid input
        pytest.skip(f"no {mode} input for {operation.label}")


def _try_later(case: schemathesis.Case[Any], response: schemathesis.Response) -> bool:
    """A deliberate 503 that says when to come back (a camera with no frame yet), or readiness saying not ready."""
    return response.status_code == 503 and ("retry-after" in response.headers or case.path == "/readyz")
