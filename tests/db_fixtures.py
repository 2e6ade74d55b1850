"""Store fixtures over both backends: SQLite in a temp dir and the PostgreSQL server named by
``GRIDWATCH_TEST_POSTGRES`` (default: postgres@127.0.0.1:5432, database ``test``), in a throwaway database
created for the test session and dropped after it. PostgreSQL tests are skipped when no server answers.

Test modules list this module in ``pytest_plugins`` and import its constants; as they import it before
pytest registers it, assertion rewriting is off here (PYTEST_DONT_REWRITE), which it needs none of.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from domain.taxonomy import Violation
from service.cases.manager import CaseManager
from service.cases.placement import Placement, locate
from service.core.registry import SiteRegistry
from service.core.site import Camera, Grid, Location, Place, SiteConfig, Unit
from service.store.db import Store, open_store
from service.store.evidence import EvidenceInput, EvidenceStore
from service.store.models import Base, EvidenceKind
from service.store.sites import sync_site
from tests.servers import missing
from vision.rules.events import ViolationEvent

PG_ADMIN_URL = os.environ.get("GRIDWATCH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def throwaway_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration of the block; yields its SQLAlchemy URL."""
    name = f"gridwatch_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        missing(f"a PostgreSQL server at {PG_ADMIN_URL} ({exc})")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_store() -> Iterator[Store]:
    """One migrated PostgreSQL database shared by the session (tables are emptied before each test)."""
    with throwaway_pg_database() as url:
        store = open_store(url)
        yield store
        store.dispose()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store on each backend."""
    if request.param == "sqlite":
        sqlite = open_store(f"sqlite:///{tmp_path / 'gridwatch.db'}")
        yield sqlite
        sqlite.dispose()
        return
    shared: Store = request.getfixturevalue("pg_store")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with shared.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield shared


SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday morning, in working time

# Two communities under one street, one camera with a known location, one without, one patrol place.
SITE = SiteConfig(
    units=[Unit(id="u-east", name="East property office"), Unit(id="u-west", name="West sanitation team")],
    grids=[
        Grid(
            id="g-east",
            name="East community",
            level="community",
            parent="s1",
            unit="u-east",
            polygon=[(121.4650, 31.2200), (121.4800, 31.2200), (121.4800, 31.2350), (121.4650, 31.2350)],
        ),
        Grid(
            id="s1",
            name="Street",
            level="street",
            unit="u-east",
            polygon=[(121.4500, 31.2200), (121.4800, 31.2200), (121.4800, 31.2500), (121.4500, 31.2500)],
        ),
        Grid(id="g-west", name="West community", level="community", parent="s1", unit="u-west"),
    ],
    cameras=[
        Camera(
            id="cam-1",
            name="East gate",
            source="rtsp://cam-1/stream",
            grid="g-east",
            location=Location(lat=31.2300, lon=121.4700),
        ),
        Camera(id="cam-2", name="West lane", source="rtsp://cam-2/stream", grid="g-west"),
    ],
    places=[Place(id="p-market", name="Wet market", grid="g-west", lat=31.2400, lon=121.4600, radius_m=40)],
)


class Clock:
    """A settable clock for the case manager: tests move time explicitly."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def manager(store: Store, clock: Clock, tmp_path: Path) -> CaseManager:
    """A case manager on the test site, synced into the store."""
    with store.transaction() as session:
        sync_site(session, SITE, T0)
    return CaseManager(store, SiteRegistry(SITE), EvidenceStore(tmp_path / "evidence"), clock=clock)


Box = tuple[float, float, float, float]


def sighting(
    violation: Violation = Violation.EXPOSED_GARBAGE,
    *,
    at: datetime = T0,
    bbox: Box = (0.10, 0.10, 0.30, 0.30),
    camera_id: str | None = "cam-1",
    place_id: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    observations: int = 3,
    confidence: float = 0.8,
) -> tuple[ViolationEvent, Placement]:
    """A violation event as the rules emit it, seen for the five minutes up to ``at``, and where it is on the test
    site (``manager.ingest(*sighting(), ...)``)."""
    event = ViolationEvent(
        violation=violation,
        label="garbage",
        rule="garbage.exposed",
        thresholds={"min_conf": 0.4, "k": 6, "n": 10},
        bbox=bbox,
        confidence=confidence,
        first_seen=at - timedelta(minutes=5),
        last_seen=at,
        observations=observations,
    )
    return event, locate(SITE, camera_id=camera_id, place_id=place_id, lat=lat, lon=lon)


def picture(tag: str, kind: EvidenceKind = EvidenceKind.ORIGINAL) -> EvidenceInput:
    """Distinct bytes per tag stand in for an encoded photo (the store never decodes evidence)."""
    return EvidenceInput(kind, f"JPEG:{tag}".encode(), "jpg")
