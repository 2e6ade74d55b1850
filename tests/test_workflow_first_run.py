"""First run: a store with no user gets ``admin`` with a random password printed once (as Frigate does), so a
newcomer can sign in without reading the manual; once users exist, a GRIDWATCH_ADMIN_PASSWORD is said to be unused.
On SQLite and PostgreSQL, through the started app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.auth.password_policy import check_policy
from service.core.config import Settings
from tests.db_fixtures import BACKENDS, throwaway_pg_database
from vision.detector import Detector

pytest_plugins = ["tests.db_fixtures"]
LOGIN = "/api/v1/auth/login"
PRINTED = re.compile(r"created the first admin user 'admin' with the password (\S+) \(shown only this once")


@contextmanager
def _database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'gridwatch.db'}"
        return
    with throwaway_pg_database() as url:
        yield url


def _start(url: str, tmp_path: Path, detector: Detector, password: str | None, caplog: pytest.LogCaptureFixture) -> str:
    """Start and stop the app once; the start-up's log lines about the first user."""
    caplog.clear()
    secret = SecretStr(password) if password else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url, admin_password=secret, model=detector.path)
    with caplog.at_level("WARNING", logger="service.app"), TestClient(create_app(settings, detector=detector)):
        pass
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "service.app")


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_run_prints_a_random_admin_password_once(
    backend: str, tmp_path: Path, detector: Detector, caplog: pytest.LogCaptureFixture
) -> None:
    with _database(backend, tmp_path) as url:
        first = _start(url, tmp_path, detector, None, caplog)
        found = PRINTED.search(first)
        assert found, first
        password = found.group(1)
        check_policy(password, "admin")  # a password the policy accepts, 16 random characters
        assert len(password) == 16
        assert _start(url, tmp_path, detector, None, caplog) == ""  # printed once, never again
        settings = Settings(data_dir=tmp_path / "data", database_url=url, model=detector.path)
        with TestClient(create_app(settings, detector=detector)) as client:
            signed_in = client.post(LOGIN, json={"username": "admin", "password": password})
            assert signed_in.status_code == 200, signed_in.text
            assert client.post(LOGIN, json={"username": "admin", "password": "not-it-at-all"}).status_code == 401
        unused = _start(url, tmp_path, detector, "an-env-passw0rd", caplog)
        assert "GRIDWATCH_ADMIN_PASSWORD is set but not used: the store already has users" in unused
        assert password not in unused
