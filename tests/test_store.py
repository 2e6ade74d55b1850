"""The store on SQLite and PostgreSQL: migrations, connection settings, datetimes, the append-only log,
content-addressed evidence and the site sync."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from service.core.site import Zone as ZoneConfig
from service.store.db import Store, alembic_config, database_url, open_store, upgrade
from service.store.evidence import EvidenceStore, record_evidence
from service.store.models import Base, Camera, Case, CaseEvent, EvidenceFile, Grid, Place, Unit, Zone
from service.store.sites import sync_site
from tests.db_fixtures import BACKENDS, SITE, T0, throwaway_pg_database

pytest_plugins = ["tests.db_fixtures"]

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'gridwatch.db'}"
    else:
        with throwaway_pg_database() as url:
            yield url


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_upgrade_from_empty_and_match_the_models(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url:
        s = open_store(url)
        try:
            with s.engine.connect() as connection:
                context = MigrationContext.configure(connection)
                assert context.get_current_revision() == HEAD
                assert set(inspect(connection).get_table_names()) >= set(Base.metadata.tables)
                assert compare_metadata(context, Base.metadata) == []
            upgrade(s.engine)  # a second start-up is a no-op
            from alembic import command

            config = alembic_config()
            with s.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, "base")
            assert set(inspect(s.engine).get_table_names()) <= {"alembic_version"}
            upgrade(s.engine)
            assert set(inspect(s.engine).get_table_names()) >= set(Base.metadata.tables)
        finally:
            s.dispose()


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    assert database_url(tmp_path, None) == f"sqlite:///{tmp_path.resolve() / 'gridwatch.db'}"
    assert database_url(tmp_path, "postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_sqlite_runs_wal_with_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    s = open_store(database_url(tmp_path / "new" / "data", None))
    try:
        assert (tmp_path / "new" / "data" / "gridwatch.db").exists()
        with s.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        s.dispose()


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add(Camera(id="c", name="c", source="x", grid_id="nowhere", sample_fps=1, enabled=True, synced_at=T0))


def test_datetimes_come_back_aware_in_utc_and_naive_ones_are_refused(store: Store) -> None:
    local = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    with store.transaction() as session:
        session.add(Unit(id="u", name="U", synced_at=local))
    with store.session() as session:
        got = session.scalars(select(Unit.synced_at)).one()
    assert got == local and got.tzinfo is UTC and got.hour == 1
    with pytest.raises(StatementError, match="naive datetime"), store.transaction() as session:
        session.add(Unit(id="v", name="V", synced_at=datetime(2026, 3, 2, 9, 0)))


def _minimal_case(session: Session) -> Case:
    case = Case(
        state="pending_review", violation="debris", event_code="06036", label="debris", rule="static",
        thresholds={}, model_version="m", confidence=0.9, bbox=[0, 0, 1, 1], first_seen=T0, last_seen=T0,
        observation_count=1, created_at=T0,
    )  # fmt: skip
    session.add(case)
    session.flush()
    return case


def test_check_constraints_refuse_unknown_states(store: Store) -> None:
    with store.transaction() as session:
        case_id = _minimal_case(session).id
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.execute(text("UPDATE cases SET state = 'lost' WHERE id = :i"), {"i": case_id})


@pytest.mark.parametrize("statement", ["UPDATE case_events SET note = 'edited'", "DELETE FROM case_events"])
def test_case_log_is_append_only(store: Store, statement: str) -> None:
    with store.transaction() as session:
        case = _minimal_case(session)
        session.add(CaseEvent(case_id=case.id, at=T0, actor="a", action="open", to_state="pending_review"))
    with pytest.raises(DBAPIError, match="append-only"), store.transaction() as session:
        session.execute(text(statement))
    with store.session() as session:
        assert session.scalars(select(CaseEvent.note)).all() == [None]


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    def fail_after_a_write() -> None:
        with store.transaction() as session:
            session.add(Unit(id="u", name="U", synced_at=T0))
            session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_after_a_write()
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 0


def test_evidence_is_content_addressed_atomic_and_stored_once(store: Store, tmp_path: Path) -> None:
    files = EvidenceStore(tmp_path / "evidence")
    data = b"\xff\xd8 not really a jpeg"
    digest = hashlib.sha256(data).hexdigest()
    first = files.put(data, "JPG")
    second = files.put(data, "jpg")
    assert first == second
    assert first.key == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    path = tmp_path / "evidence" / first.key
    assert path.read_bytes() == data and files.read(digest, "jpg") == data and first.size == len(data)
    assert [p.name for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == [f"{digest}.jpg"]
    with store.transaction() as session:
        record_evidence(session, first, T0)
        record_evidence(session, second, T0)
    with store.session() as session:
        assert session.scalars(select(EvidenceFile.sha256)).all() == [digest]


@pytest.mark.parametrize(("sha", "ext"), [("../" + "a" * 61, "jpg"), ("A" * 64, "jpg"), ("a" * 64, "j/pg")])
def test_evidence_paths_refuse_anything_but_a_hash_and_a_plain_extension(tmp_path: Path, sha: str, ext: str) -> None:
    with pytest.raises(ValueError, match=r"sha256|extension"):
        EvidenceStore(tmp_path).path_for(sha, ext)


def test_sync_site_upserts_deactivates_and_revives(store: Store) -> None:
    lane = ZoneConfig(id="lane", kind="fire_lane", polygon=[(0.1, 0.5), (0.9, 0.5), (0.9, 0.9)])
    cam = SITE.cameras[0].model_copy(update={"zones": [lane]})
    with store.transaction() as session:
        sync_site(session, SITE.model_copy(update={"cameras": [cam, SITE.cameras[1]]}), T0)
    with store.session() as session:
        assert session.get_one(Grid, "g-east").parent_id == "s1"  # parent listed after its child
        assert session.get_one(Camera, "cam-1").lat == 31.23
        assert session.get_one(Place, "p-market").grid_id == "g-west"
        zone = session.scalars(select(Zone)).one()
        assert (zone.camera_id, zone.key, zone.kind, zone.active) == ("cam-1", "lane", "fire_lane", True)

    later = T0 + timedelta(days=1)
    renamed = SITE.units[0].model_copy(update={"name": "East office"})
    smaller = SITE.model_copy(update={"units": [renamed, SITE.units[1]], "cameras": [SITE.cameras[1]]})
    with store.transaction() as session:
        sync_site(session, smaller, later)
    with store.session() as session:
        assert session.get_one(Unit, "u-east").name == "East office"
        gone = session.get_one(Camera, "cam-1")
        assert (gone.active, gone.synced_at) == (False, later)
        assert session.scalars(select(Zone.active)).all() == [False]
        assert session.get_one(Camera, "cam-2").active

    with store.transaction() as session:
        sync_site(session, SITE, later)
    with store.session() as session:
        assert session.get_one(Camera, "cam-1").active
        assert session.scalar(select(func.count()).select_from(Camera)) == 2
