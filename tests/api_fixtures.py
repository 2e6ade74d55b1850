"""The API over a real store on each backend: an app per test module and backend (fresh SQLite file, or a
throwaway PostgreSQL database), users of every role, and helpers for tokens and cases.

Test modules list this module (and ``tests.db_fixtures``) in ``pytest_plugins``. PYTEST_DONT_REWRITE: see
``tests.db_fixtures``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from domain.lifecycle import Action
from domain.taxonomy import Violation
from service.app import create_app
from service.auth import tokens
from service.auth.principal import Scope
from service.auth.users import create_user, get_user
from service.context import Context
from service.core.config import Settings
from service.core.site import dump_site
from service.store.models import Role
from tests.db_fixtures import BACKENDS, SITE, T0, picture, sighting, throwaway_pg_database
from tests.test_batches import BATCH_SITE
from vision.detector import Detector

PASSWORD = "s3cret-passw0rd"
# Principals of the access tests: one user per role, a unit handler of each community, an ingest token.
USERS = {
    "admin": (Role.ADMIN, []),
    "operator": (Role.OPERATOR, []),
    "viewer": (Role.VIEWER, []),
    "handler_east": (Role.UNIT_HANDLER, ["g-east"]),
    "handler_west": (Role.UNIT_HANDLER, ["g-west"]),
}


@dataclass
class Api:
    """A started app and its client; ``as_(name)`` gives headers of a fresh session token of that user."""

    app: FastAPI
    client: TestClient
    site_file: Path
    _spots: Iterator[int] = field(default_factory=itertools.count)

    @property
    def ctx(self) -> Context:
        ctx: Context = self.app.state.ctx
        return ctx

    def token(self, name: str, lifetime: timedelta = timedelta(hours=1)) -> str:
        with self.ctx.store.transaction() as session:
            user = get_user(session, name)
            assert user is not None
            return tokens.issue_session(session, user, lifetime).value

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(name)}"}

    def ingest_token(self, lifetime: timedelta = timedelta(days=1)) -> str:
        with self.ctx.store.transaction() as session:
            return tokens.create_api_token(session, "camera-box", [Scope.INGEST], lifetime, "test").value

    def open_case(self, camera: str = "cam-1", tag: str = "a", violation: Violation = Violation.EXPOSED_GARBAGE) -> int:
        """A new case from a sighting on ``camera`` (cam-1 is in g-east, cam-2 in g-west), at a spot of the view
        no earlier call used (25 disjoint boxes), so it never joins another case."""
        n = next(self._spots)
        col, row = n % 5, n // 5 % 5
        bbox = (0.02 + 0.2 * col, 0.02 + 0.2 * row, 0.17 + 0.2 * col, 0.17 + 0.2 * row)
        result = self.ctx.manager.ingest(
            *sighting(violation, camera_id=camera, bbox=bbox, at=T0), [picture(tag)], "m1", f"sha-{camera}-{tag}"
        )
        return result.case.id

    def dispatch(self, case_id: int, unit_id: str | None = None) -> int:
        """File and dispatch a case (to its grid's unit, or ``unit_id``): only then does a unit handler see it."""
        self.ctx.manager.act(case_id, Action.FILE, actor="operator")
        self.ctx.manager.act(case_id, Action.DISPATCH, actor="operator", unit_id=unit_id)
        return case_id


def start_api(tmp: Path, url: str, detector: Detector) -> Iterator[Api]:
    site_file = tmp / "site.yaml"
    dump_site(SITE, site_file)
    # admin's password is the test password (without one, the first start would make a random one).
    settings = Settings(
        data_dir=tmp / "data", database_url=url, site=site_file, model=detector.path, admin_password=SecretStr(PASSWORD)
    )
    app = create_app(settings, detector=detector)
    with TestClient(app) as client:
        api = Api(app, client, site_file)
        with api.ctx.store.transaction() as session:
            for name, (role, grids) in USERS.items():
                if get_user(session, name) is None:
                    create_user(session, name, role, PASSWORD, grids)
        yield api


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> Iterator[Api]:
    """One app per module and backend, shared by the module's tests (each test makes its own cases)."""
    tmp = tmp_path_factory.mktemp(f"api-{request.param}")
    if request.param == "sqlite":
        yield from start_api(tmp, f"sqlite:///{tmp / 'gridwatch.db'}", detector)
        return
    with throwaway_pg_database() as url:
        yield from start_api(tmp, url, detector)


@contextmanager
def batch_app(root: Path, detector: Detector) -> Iterator[Api]:
    """The app on a SQLite store in ``root/data`` with the batch test site (``root/site.yaml``) and the users of
    :data:`USERS`, for modules that upload far more than a person would (no upload rate limit)."""
    site = root / "site.yaml"
    dump_site(BATCH_SITE, site)
    data = root / "data"
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'gridwatch.db'}",
        site=site,
        model=detector.path,
        upload_rate_limit=0,  # the limit has its own tests
        admin_password=SecretStr(PASSWORD),
    )
    with TestClient(create_app(settings, detector=detector)) as client:
        api = Api(client.app, client, site)  # type: ignore[arg-type]
        with api.ctx.store.transaction() as session:
            for name, (role, grids) in USERS.items():
                if get_user(session, name) is None:
                    create_user(session, name, role, PASSWORD, grids)
        yield api
