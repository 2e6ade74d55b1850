"""Concurrent writers on the shared store: the database, not a lock, keeps one case per violation at a place.

The writers here run with the advisory lock switched off (``LocklessStore``), so what keeps them apart is the
schema (the observation fingerprint and the open-case-per-place unique index) and :meth:`Store.write`'s retry.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.errors import CaseError
from domain.lifecycle import Action, CaseState
from domain.taxonomy import Violation
from service.cases.manager import CaseManager
from service.cases.placement import Placement
from service.cases.sightings import IngestResult, Outcome
from service.core.registry import SiteRegistry
from service.store.db import Store, open_store
from service.store.evidence import EvidenceStore
from service.store.models import OPEN_PLACE_CASE, Case, Observation, VerdictKind
from service.store.sites import sync_site
from tests.db_fixtures import SITE, T0, Clock, picture, sighting
from vision.rules.events import ViolationEvent

pytest_plugins = ["tests.db_fixtures"]

ON_POSTGRES = pytest.mark.parametrize("store", ["postgresql"], indirect=True)
MARKET = sighting(camera_id=None, place_id="p-market")  # a patrol photo at the wet market


class LocklessStore(Store):
    """The store without its advisory lock, counting the write transactions each thread begins."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.engine, store.sessions)
        self.attempts: Counter[str] = Counter()

    def lock(self, session: Session, key: str) -> None:
        """No lock: concurrent writers race, and only the schema can keep them apart."""

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        self.attempts[threading.current_thread().name] += 1
        with super().transaction() as session:
            yield session


@pytest.fixture
def lockless(store: Store, clock: Clock, tmp_path: Path) -> CaseManager:
    with store.transaction() as session:
        sync_site(session, SITE, T0)
    return CaseManager(LocklessStore(store), SiteRegistry(SITE), EvidenceStore(tmp_path / "evidence"), clock=clock)


def _count(manager: CaseManager, model: type[Case] | type[Observation]) -> int:
    with manager.store.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


Sighting = tuple[ViolationEvent, Placement]


def _race(manager: CaseManager, a: tuple[Sighting, str], b: tuple[Sighting, str]) -> list[IngestResult]:
    """``a`` inserts its rows and holds its transaction open while ``b`` looks for them, finds none (not yet
    committed) and writes its own; the database makes ``b`` wait for ``a`` and then refuses it."""
    inserted = threading.Event()
    results: dict[str, IngestResult] = {}

    def hold(_s: Session, _results: list[IngestResult]) -> None:
        inserted.set()
        threading.Event().wait(0.5)  # b reads while a's rows are uncommitted

    def run(seen: Sighting, sha: str, then: Callable[[Session, list[IngestResult]], None] | None) -> None:
        event, where = seen
        (results[threading.current_thread().name],) = manager.ingest_source(
            where, [(event, [picture(sha)])], "m1", sha, then
        )

    first = threading.Thread(target=run, args=(*a, hold), name="a")
    first.start()
    assert inserted.wait(10)
    second = threading.Thread(target=run, args=(*b, None), name="b")
    second.start()
    first.join(20)
    second.join(20)
    return [results["a"], results["b"]]


@ON_POSTGRES
def test_two_photos_of_one_place_racing_open_one_case(lockless: CaseManager) -> None:
    a, b = _race(lockless, (MARKET, "sha-a"), (MARKET, "sha-b"))
    assert (a.outcome, b.outcome) == (Outcome.OPENED, Outcome.UPDATED)
    assert a.case.id == b.case.id and _count(lockless, Case) == 1 and _count(lockless, Observation) == 2
    # b's first transaction was refused by the unique index; its retry found a's case.
    assert isinstance(lockless.store, LocklessStore) and lockless.store.attempts["b"] == 2


@ON_POSTGRES
def test_the_same_photo_racing_is_recorded_once(lockless: CaseManager) -> None:
    # Camera sightings are outside the place index: here the observation fingerprint decides.
    a, b = _race(lockless, (sighting(), "sha-a"), (sighting(), "sha-a"))
    assert (a.outcome, b.outcome) == (Outcome.OPENED, Outcome.DUPLICATE)
    assert b.case.id == a.case.id and _count(lockless, Case) == 1 and _count(lockless, Observation) == 1
    assert isinstance(lockless.store, LocklessStore) and lockless.store.attempts["b"] == 2


@pytest.mark.parametrize("store", ["postgresql", "sqlite"], indirect=True)
def test_many_writers_at_once_open_one_case(lockless: CaseManager) -> None:
    writers = 8
    start = threading.Barrier(writers)
    outcomes: list[Outcome] = []

    def write(i: int) -> None:
        start.wait()
        outcomes.append(lockless.ingest(*MARKET, [picture(f"p{i}")], "m1", f"sha-{i}").outcome)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert Counter(outcomes) == {Outcome.OPENED: 1, Outcome.UPDATED: writers - 1}
    assert _count(lockless, Case) == 1 and _count(lockless, Observation) == writers


def _write_from_a_process(url: str, evidence: str, i: int, start: BarrierType, outcomes: Queue[str]) -> None:
    """One writer process: its own engine and pool, no advisory lock, released with the others at once."""
    store = open_store(url, migrate=False)
    try:
        manager = CaseManager(LocklessStore(store), SiteRegistry(SITE), EvidenceStore(Path(evidence)))
        start.wait()
        outcomes.put(str(manager.ingest(*MARKET, [picture(f"p{i}")], "m1", f"sha-{i}").outcome))
    finally:
        store.dispose()


@ON_POSTGRES
def test_writer_processes_at_once_open_one_case(lockless: CaseManager, store: Store, tmp_path: Path) -> None:
    writers = 4
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters: no connection inherited from this one
    start, outcomes = spawn.Barrier(writers), spawn.Queue()
    url = store.engine.url.render_as_string(hide_password=False)
    processes = [
        spawn.Process(target=_write_from_a_process, args=(url, str(tmp_path / "evidence"), i, start, outcomes))
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0] * writers
    got = Counter(outcomes.get(timeout=5) for _ in range(writers))
    assert got == {"opened": 1, "updated": writers - 1}
    assert _count(lockless, Case) == 1 and _count(lockless, Observation) == writers


@pytest.mark.parametrize("store", ["postgresql", "sqlite"], indirect=True)
def test_the_index_holds_open_place_cases_only(manager: CaseManager, clock: Clock) -> None:
    market = manager.ingest(*MARKET, [], "m1", "sha-1").case
    columns = [c.key for c in Case.__table__.columns if c.key not in ("id", "version")]
    twin = Case(**{key: getattr(market, key) for key in columns})  # a second open case there, written directly
    with pytest.raises(IntegrityError), manager.store.transaction() as s:
        s.add(twin)
    # Camera cases are told apart by their boxes, not by the index: two at one camera are fine.
    far = manager.ingest(*sighting(bbox=(0.6, 0.6, 0.8, 0.8)), [], "m1", "sha-2")
    near = manager.ingest(*sighting(), [], "m1", "sha-3")
    assert far.case.id != near.case.id
    # Once the market case is rejected, the place may have a new open case.
    manager.act(market.id, Action.REJECT, actor="op", at=clock.advance(minutes=5))
    again = manager.ingest(*MARKET, [], "m1", "sha-4")
    assert again.outcome is Outcome.OPENED and again.case.state == CaseState.PENDING_REVIEW


@pytest.mark.parametrize("store", ["postgresql", "sqlite"], indirect=True)
def test_a_relabel_onto_an_open_case_of_the_place_is_refused(manager: CaseManager) -> None:
    garbage = manager.ingest(*MARKET, [], "m1", "sha-1").case
    debris = manager.ingest(*sighting(Violation.DEBRIS, camera_id=None, place_id="p-market"), [], "m1", "sha-2").case
    with pytest.raises(CaseError, match=f"case {garbage.id} is already open"):
        manager.record_verdict(debris.id, VerdictKind.RELABEL, actor="op", violation=Violation.EXPOSED_GARBAGE)


def test_the_migration_spells_out_the_models_index() -> None:
    migration = import_module("service.store.migrations.versions.0004_open_case_per_place")
    assert migration.OPEN_PLACE_CASE == OPEN_PLACE_CASE
