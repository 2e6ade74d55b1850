"""Dedup, recurrence, idempotent re-ingest, evidence, auto-verification and verdicts, on both backends."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.errors import CaseError
from domain.lifecycle import Action, CaseState
from domain.taxonomy import Violation
from service.cases.caselog import LogAction
from service.cases.manager import CaseManager
from service.cases.placement import Placement
from service.cases.sightings import Outcome
from service.store.models import Case, CaseEvent, EvidenceFile, EvidenceKind, EvidenceLink, Observation, VerdictKind
from tests.db_fixtures import T0, Clock, picture, sighting
from vision.rules.events import ClearEvent, ViolationEvent

pytest_plugins = ["tests.db_fixtures"]

A = Action
FAR_BOX = (0.60, 0.60, 0.80, 0.80)


def _count(manager: CaseManager, model: type[Case] | type[Observation] | type[EvidenceFile]) -> int:
    with manager.store.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _log(manager: CaseManager, case_id: int) -> list[tuple[str, str | None]]:
    with manager.store.session() as s:
        rows = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        return [(e.action, e.note) for e in rows]


def _close(manager: CaseManager, case_id: int, clock: Clock) -> None:
    for action in (A.FILE, A.DISPATCH):
        manager.act(case_id, action, actor="op", at=clock.advance(minutes=10))
    manager.act(case_id, A.HANDLE, actor="unit", at=clock.advance(minutes=10), evidence=[picture(f"fix{case_id}")])
    for action in (A.VERIFY, A.CLOSE):
        manager.act(case_id, action, actor="op", at=clock.advance(minutes=10))


def test_same_camera_overlapping_box_updates_the_open_case(manager: CaseManager) -> None:
    first = manager.ingest(*sighting(observations=3), [picture("a")], "m1", "sha-a")
    later = T0 + timedelta(minutes=30)
    moved = (0.12, 0.11, 0.31, 0.32)
    second = manager.ingest(
        *sighting(at=later, bbox=moved, observations=4, confidence=0.9), [picture("b")], "m2", "sha-b"
    )
    assert (first.outcome, second.outcome) == (Outcome.OPENED, Outcome.UPDATED)
    assert second.case.id == first.case.id
    case = second.case
    assert (case.observation_count, case.last_seen, case.first_seen) == (7, later, T0 - timedelta(minutes=5))
    assert (case.confidence, case.bbox, case.model_version) == (0.9, list(moved), "m1")
    assert (case.grid_id, case.unit_id, case.event_code, case.state) == ("g-east", "u-east", "06010", "pending_review")
    assert case.thresholds == {"min_conf": 0.4, "k": 6, "n": 10} and case.rule == "garbage.exposed"
    assert _count(manager, Case) == 1 and _count(manager, Observation) == 2


@pytest.mark.parametrize(
    "other",
    [
        sighting(bbox=FAR_BOX),  # same camera, another spot
        sighting(Violation.DEBRIS),  # same spot, another violation
        sighting(camera_id="cam-2"),  # another camera (without a location)
    ],
    ids=["far-box", "other-violation", "other-camera"],
)
def test_different_places_or_types_open_separate_cases(
    manager: CaseManager, other: tuple[ViolationEvent, Placement]
) -> None:
    first = manager.ingest(*sighting(), [], "m1", "sha-a")
    second = manager.ingest(*other, [], "m1", "sha-b")
    assert second.outcome is Outcome.OPENED and second.case.id != first.case.id


def test_patrol_photos_join_cases_by_place_and_distance(manager: CaseManager) -> None:
    # A photo 20 m from cam-1 (31.2300, 121.4700) joins the camera's case; one 200 m away does not.
    camera_case = manager.ingest(*sighting(), [], "m1", "sha-cam").case
    near = manager.ingest(*sighting(camera_id=None, lat=31.23018, lon=121.4700), [], "m1", "sha-near")
    far = manager.ingest(*sighting(camera_id=None, lat=31.2318, lon=121.4700), [], "m1", "sha-far")
    assert near.case.id == camera_case.id and near.outcome is Outcome.UPDATED
    assert far.outcome is Outcome.OPENED and far.case.grid_id == "g-east"  # the community, not the street
    # Photos at the market: one names the place, one is GPS within its 40 m radius.
    named = manager.ingest(*sighting(camera_id=None, place_id="p-market"), [], "m1", "sha-m1")
    gps = manager.ingest(*sighting(camera_id=None, lat=31.24025, lon=121.46010), [], "m1", "sha-m2")
    assert gps.case.id == named.case.id and gps.outcome is Outcome.UPDATED
    assert (named.case.place_id, named.case.grid_id, named.case.unit_id) == ("p-market", "g-west", "u-west")
    assert (named.case.lat, named.case.lon) == (31.24, 121.46)


def test_reingesting_the_same_photo_is_a_no_op(manager: CaseManager, clock: Clock) -> None:
    first = manager.ingest(*sighting(), [picture("a")], "m1", "sha-a")
    again = manager.ingest(*sighting(), [picture("a")], "m1", "sha-a")
    assert again.outcome is Outcome.DUPLICATE
    assert (again.case.id, again.observation_id) == (first.case.id, first.observation_id)
    assert again.case.observation_count == 3
    _close(manager, first.case.id, clock)
    after_close = manager.ingest(*sighting(), [picture("a")], "m1", "sha-a")  # not a recurrence either
    assert after_close.outcome is Outcome.DUPLICATE and after_close.case.id == first.case.id
    assert _count(manager, Case) == 1 and _count(manager, Observation) == 1
    # Same photo, another box in it: another sighting.
    assert manager.ingest(*sighting(bbox=FAR_BOX), [], "m1", "sha-a").outcome is Outcome.OPENED


def test_reappearing_at_a_closed_case_opens_a_linked_case(manager: CaseManager, clock: Clock) -> None:
    old = manager.ingest(*sighting(), [], "m1", "sha-1").case
    _close(manager, old.id, clock)
    back = manager.ingest(*sighting(at=clock.advance(days=2)), [], "m1", "sha-2")
    assert back.outcome is Outcome.RECURRED and back.case.id != old.id
    assert (back.case.previous_case_id, back.case.state) == (old.id, CaseState.PENDING_REVIEW)
    assert _log(manager, back.case.id) == [("open", f"recurrence of case {old.id}")]
    # It is open now: the next sighting updates it instead of recurring again.
    assert manager.ingest(*sighting(at=clock.advance(hours=1)), [], "m1", "sha-3").case.id == back.case.id


def test_evidence_is_linked_per_observation_and_stored_once(manager: CaseManager) -> None:
    frame = picture("frame")
    crop = picture("crop", EvidenceKind.CROP)
    first = manager.ingest(*sighting(), [frame, crop], "m1", "sha-1")
    second = manager.ingest(*sighting(at=T0 + timedelta(minutes=1)), [frame], "m1", "sha-2")  # same frame bytes
    assert _count(manager, EvidenceFile) == 2
    with manager.store.session() as s:
        links = s.execute(select(EvidenceLink.observation_id, EvidenceLink.kind, EvidenceLink.role)).all()
    # The same picture is linked to a case once per kind and role.
    assert sorted(links) == sorted(
        [(first.observation_id, "original", "sighting"), (first.observation_id, "crop", "sighting")]
    )
    assert second.case.id == first.case.id
    assert len(list(Path(manager.evidence.location).rglob("*.jpg"))) == 2


def test_unknown_camera_or_place_is_refused(manager: CaseManager) -> None:
    with pytest.raises(CaseError, match="unknown camera 'cam-9'"):
        manager.ingest(*sighting(camera_id="cam-9"), [], "m1", "sha")
    with pytest.raises(CaseError, match="unknown place 'p-9'"):
        manager.ingest(*sighting(camera_id=None, place_id="p-9"), [], "m1", "sha")
    assert _count(manager, Case) == 0


def test_auto_verification_on_a_synthetic_sequence(manager: CaseManager, clock: Clock) -> None:
    # Garbage seen by cam-1 for ten minutes, filed and dispatched; then the place is clear; then it is back.
    for minute in range(0, 11, 2):
        at = T0 + timedelta(minutes=minute)
        result = manager.ingest(*sighting(at=at, observations=1), [picture(f"t{minute}")], "m1", f"sha-{minute}")
    case_id = result.case.id
    other = manager.ingest(*sighting(bbox=FAR_BOX), [], "m1", "sha-other").case.id  # never dispatched
    for action in (A.FILE, A.DISPATCH):
        manager.act(case_id, action, actor="op", at=T0 + timedelta(minutes=15))

    clear = ClearEvent(
        Violation.EXPOSED_GARBAGE, (0.1, 0.1, 0.3, 0.3), T0 + timedelta(minutes=40), T0 + timedelta(minutes=50)
    )
    wrong_type = ClearEvent(Violation.DEBRIS, clear.bbox, clear.clear_since, clear.at)
    assert manager.ingest_clear(clear, "cam-2") == [] and manager.ingest_clear(wrong_type, "cam-1") == []
    assert manager.ingest_clear(clear, "cam-1", [picture("clear")]) == [case_id]  # not `other`: still pending review
    assert manager.ingest_clear(clear, "cam-1", [picture("clear")]) == []  # already proposed
    with manager.store.session() as s:
        case = s.get_one(Case, case_id)
        assert (case.rectified_proposed, case.rectified_since, case.needs_rework) == (True, clear.clear_since, False)
        evidence = s.execute(
            select(EvidenceLink.role, EvidenceFile.sha256)
            .join(EvidenceFile)
            .where(EvidenceLink.case_id == case_id, EvidenceLink.role.in_(["before", "after"]))
        ).all()
        last_sighting = s.scalars(
            select(EvidenceLink.sha256)
            .join(Observation)
            .where(Observation.source_sha256 == "sha-10", EvidenceLink.role == "sighting")
        ).one()
    assert sorted(evidence) == sorted(
        [("before", last_sighting), ("after", manager.evidence.put(b"JPEG:clear", "jpg").sha256)]
    )
    with manager.store.session() as s:
        assert not s.get_one(Case, other).rectified_proposed

    # A late frame from before the clear does not undo the proposal; the garbage coming back does.
    manager.ingest(*sighting(at=T0 + timedelta(minutes=12), observations=1), [], "m1", "sha-late")
    with manager.store.session() as s:
        assert s.get_one(Case, case_id).rectified_proposed
    manager.ingest(*sighting(at=T0 + timedelta(minutes=70), observations=1), [picture("back")], "m1", "sha-back")
    with manager.store.session() as s:
        case = s.get_one(Case, case_id)
        assert (case.rectified_proposed, case.needs_rework, case.state) == (False, True, CaseState.DISPATCHED)
    assert _log(manager, case_id)[-2:] == [
        ("propose_rectified", f"place clear since {clear.clear_since.isoformat()}"),
        ("flag_rework", f"seen again at {(T0 + timedelta(minutes=70)).isoformat()} after the place was clear"),
    ]


def test_violation_back_after_handling_flags_rework(manager: CaseManager) -> None:
    case_id = manager.ingest(*sighting(), [], "m1", "sha-1").case.id
    for action in (A.FILE, A.DISPATCH):
        manager.act(case_id, action, actor="op", at=T0 + timedelta(minutes=10))
    handled_at = T0 + timedelta(hours=1)
    manager.act(case_id, A.HANDLE, actor="unit", at=handled_at, evidence=[picture("done")])
    manager.ingest(*sighting(at=handled_at - timedelta(minutes=1)), [], "m1", "sha-2")  # from before handling
    with manager.store.session() as s:
        assert not s.get_one(Case, case_id).needs_rework
    manager.ingest(*sighting(at=handled_at + timedelta(minutes=30)), [], "m1", "sha-3")
    manager.ingest(*sighting(at=handled_at + timedelta(minutes=40)), [], "m1", "sha-4")
    with manager.store.session() as s:
        assert s.get_one(Case, case_id).needs_rework
    assert [a for a, _ in _log(manager, case_id)].count(LogAction.FLAG_REWORK) == 1
    case = manager.act(case_id, A.RETURN, actor="op", at=handled_at + timedelta(hours=1))
    assert (case.needs_rework, case.rework_count) == (False, 1)


def test_verdicts_are_kept_and_relabel_retypes_before_dispatch(manager: CaseManager) -> None:
    case_id = manager.ingest(*sighting(), [], "m1", "sha-1").case.id
    manager.record_verdict(case_id, VerdictKind.CONFIRM, actor="op", at=T0)
    manager.record_verdict(case_id, VerdictKind.RELABEL, actor="op", at=T0, violation=Violation.BIN_OVERFLOW)
    with manager.store.session() as s:
        case = s.get_one(Case, case_id)
        assert (case.violation, case.event_code) == ("bin_overflow", "06042")
    with pytest.raises(CaseError, match="needs the new violation"):
        manager.record_verdict(case_id, VerdictKind.RELABEL, actor="op")
    for action in (A.FILE, A.DISPATCH):
        manager.act(case_id, action, actor="op", at=T0)
    with pytest.raises(CaseError, match="relabel only before dispatch"):
        manager.record_verdict(case_id, VerdictKind.RELABEL, actor="op", violation=Violation.DEBRIS)
    assert [n for a, n in _log(manager, case_id) if a == LogAction.VERDICT] == ["confirm", "relabel as bin_overflow"]


def test_concurrent_sightings_of_one_place_open_one_case(manager: CaseManager) -> None:
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            manager.ingest(*sighting(at=T0 + timedelta(seconds=i)), [], "m1", f"sha-{i}")
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(manager, Case) == 1 and _count(manager, Observation) == 6
