"""KPI formulas on a hand-computed week of cases, on both backends.

Week 2026-W10 (Shanghai), exposed garbage (4 working hours), every case opened Monday 08:00 and dispatched
09:00 (deadline 14:30) unless noted:

====  ======  ================================================  =====================================
case  grid    what happens                                      counts as
====  ======  ================================================  =====================================
A     g-east  closed Mon 13:00                                  closed on time
B     g-east  closed Tue 10:00                                  closed late
C     g-east  extended to Fri 17:00, closed Thu 10:00           closed on time, extended
D     g-east  deferred                                          due but deferred: not assessed
E     g-east  handled, returned, dispatched again               reworked, not closed
F     g-west  recurrence of a case closed in W09; closed 10:00  closed on time, recurrent
G     g-west  debris (1 working day: Tue 09:00), opened 07:00   open
H     g-west  dispatched the Monday after                       due in W11, not W10
I     g-west  pending review                                    never due
====  ======  ================================================  =====================================

W10: due 7, deferred 1, assessed 6, closed 4 (A B C F), on time 3 (A C F), reworked 1, extended 1, recurrent 1.
Hours to dispatch over the 7 due: six of 1 h and G's 2 h = 8/7. Hours to close over A B C F: 5, 26, 74, 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from domain.lifecycle import Action
from domain.taxonomy import Violation
from service.cases.kpi import GroupBy, Kpi, iso_week, kpis, week_start, weekly_ranking
from service.cases.manager import CaseManager
from tests.db_fixtures import SHANGHAI, T0, Clock, picture, sighting

pytest_plugins = ["tests.db_fixtures"]

A = Action
MON = T0.replace(hour=8)  # Monday 2026-03-02 08:00 Shanghai
W10, W11, W12 = (week_start(2026, w, SHANGHAI) for w in (10, 11, 12))


def h(hours: float, day: int = 0) -> datetime:
    """Monday 00:00 of W10 plus ``day`` days and ``hours`` hours."""
    return W10 + timedelta(days=day, hours=hours)


class Week:
    """Builds the cases of the module docstring; ``spot`` picks a box of its own on the camera."""

    def __init__(self, manager: CaseManager, clock: Clock) -> None:
        self.manager, self.clock = manager, clock

    def open(self, camera: str, spot: int, opened: datetime, violation: Violation = Violation.EXPOSED_GARBAGE) -> int:
        self.clock.now = opened
        box = (0.1 * spot, 0.0, 0.1 * spot + 0.05, 0.05)
        event = sighting(violation, at=opened, bbox=box, camera_id=camera)
        return self.manager.ingest(*event, [], "m", f"{camera}-{spot}-{opened.isoformat()}").case.id

    def run(self, case_id: int, *steps: tuple[Action, datetime] | tuple[Action, datetime, datetime]) -> None:
        for action, at, *deadline in steps:
            evidence = [picture(f"{case_id}-{at}")] if action is A.HANDLE else []
            self.manager.act(
                case_id, action, actor="op", at=at, deadline=deadline[0] if deadline else None, evidence=evidence
            )

    def dispatched(
        self,
        camera: str,
        spot: int,
        opened: datetime | None = None,
        violation: Violation = Violation.EXPOSED_GARBAGE,
        day: int = 0,
    ) -> int:
        case_id = self.open(camera, spot, (opened or h(8)) + timedelta(days=day), violation)
        self.run(case_id, (A.FILE, h(8.5, day)), (A.DISPATCH, h(9, day)))
        return case_id

    def close(self, case_id: int, at: datetime) -> None:
        self.run(case_id, (A.HANDLE, at - timedelta(minutes=30)), (A.VERIFY, at - timedelta(minutes=10)), (A.CLOSE, at))


@dataclass(frozen=True)
class Expected:
    due: int
    deferred: int
    closed: int
    on_time: int
    reworked: int
    extended: int
    recurrent: int


def check(k: Kpi, e: Expected) -> None:
    got = (k.due, k.deferred, k.closed, k.closed_on_time, k.reworked, k.extended, k.recurrent)
    assert got == (e.due, e.deferred, e.closed, e.on_time, e.reworked, e.extended, e.recurrent), k.key
    assessed = e.due - e.deferred
    assert k.assessed == assessed
    assert k.closure_rate == pytest.approx(e.closed / assessed)
    assert k.on_time_rate == pytest.approx(e.on_time / assessed)
    assert k.rework_rate == pytest.approx(e.reworked / assessed)
    assert k.extension_rate == pytest.approx(e.extended / assessed)
    assert k.recurrence_rate == pytest.approx(e.recurrent / assessed)


@pytest.fixture
def week(manager: CaseManager, clock: Clock) -> CaseManager:
    w = Week(manager, clock)
    f_prev = w.dispatched("cam-2", 8, day=-7)  # F's predecessor, closed the week before
    w.close(f_prev, h(10, -7))
    a = w.dispatched("cam-1", 1)
    w.close(a, h(13))
    b = w.dispatched("cam-1", 2)
    w.close(b, h(10, 1))
    c = w.dispatched("cam-1", 3)
    w.run(c, (A.EXTEND, h(11), h(17, 4)))
    w.close(c, h(10, 3))
    d = w.dispatched("cam-1", 4)
    w.run(d, (A.DEFER, h(10)))
    e = w.dispatched("cam-1", 5)
    w.run(e, (A.HANDLE, h(11)), (A.VERIFY, h(12)), (A.RETURN, h(12.5)), (A.DISPATCH, h(13)))
    f = w.dispatched("cam-2", 8)  # back at its predecessor's spot
    w.close(f, h(10))
    w.dispatched("cam-2", 1, opened=h(7), violation=Violation.DEBRIS)  # G
    w.dispatched("cam-2", 2, day=7)  # H
    w.open("cam-2", 3, h(8))  # I
    return manager


def test_overall_week(week: CaseManager) -> None:
    with week.store.session() as s:
        [k] = kpis(s, W10, W11)
    check(k, Expected(due=7, deferred=1, closed=4, on_time=3, reworked=1, extended=1, recurrent=1))
    assert k.key is None
    assert k.mean_hours_to_dispatch == pytest.approx(8 / 7)
    assert k.mean_hours_to_close == pytest.approx((5 + 26 + 74 + 2) / 4)


def test_grouped(week: CaseManager) -> None:
    with week.store.session() as s:
        by_grid = {k.key: k for k in kpis(s, W10, W11, GroupBy.GRID)}
        by_unit = {k.key: k for k in kpis(s, W10, W11, GroupBy.UNIT)}
        by_type = {k.key: k for k in kpis(s, W10, W11, GroupBy.VIOLATION)}
        by_week = {k.key: k for k in kpis(s, W10 - timedelta(days=7), W12, GroupBy.WEEK, SHANGHAI)}
    east = Expected(due=5, deferred=1, closed=3, on_time=2, reworked=1, extended=1, recurrent=0)
    west = Expected(due=2, deferred=0, closed=1, on_time=1, reworked=0, extended=0, recurrent=1)
    assert set(by_grid) == {"g-east", "g-west"} and by_unit.keys() == {"u-east", "u-west"}
    check(by_grid["g-east"], east)
    check(by_unit["u-east"], east)
    check(by_grid["g-west"], west)
    check(
        by_type["exposed_garbage"],
        Expected(due=6, deferred=1, closed=4, on_time=3, reworked=1, extended=1, recurrent=1),
    )
    check(by_type["debris"], Expected(due=1, deferred=0, closed=0, on_time=0, reworked=0, extended=0, recurrent=0))
    assert by_type["debris"].mean_hours_to_close is None and by_type["debris"].mean_hours_to_dispatch == pytest.approx(
        2
    )
    assert list(by_week) == ["2026-W09", "2026-W10", "2026-W11"]
    check(by_week["2026-W09"], Expected(due=1, deferred=0, closed=1, on_time=1, reworked=0, extended=0, recurrent=0))
    check(by_week["2026-W10"], Expected(due=7, deferred=1, closed=4, on_time=3, reworked=1, extended=1, recurrent=1))
    check(by_week["2026-W11"], Expected(due=1, deferred=0, closed=0, on_time=0, reworked=0, extended=0, recurrent=0))


def test_weekly_ranking(week: CaseManager) -> None:
    with week.store.session() as s:
        ranking = weekly_ranking(s, 2026, 10, SHANGHAI, n=1)
        empty = weekly_ranking(s, 2026, 20, SHANGHAI)
    # Both on time 50%; g-east closes 3/4 against g-west's 1/2.
    assert ranking.week == "2026-W10"
    assert [k.key for k in ranking.best] == ["g-east"] and [k.key for k in ranking.worst] == ["g-west"]
    assert (empty.best, empty.worst) == ([], [])


def test_empty_period_has_no_rates(manager: CaseManager) -> None:
    with manager.store.session() as s:
        [k] = kpis(s, W10, W11)
        assert kpis(s, W10, W11, GroupBy.GRID) == []
    assert (k.due, k.closure_rate, k.on_time_rate, k.mean_hours_to_close) == (0, None, None, None)


def test_weeks_follow_the_site_time_zone(manager: CaseManager, clock: Clock) -> None:
    w = Week(manager, clock)
    case_id = w.dispatched("cam-1", 1)
    monday_early = datetime(2026, 3, 9, 0, 30, tzinfo=SHANGHAI)  # still Sunday 16:30 in UTC
    w.run(case_id, (A.EXTEND, h(10), monday_early))
    assert iso_week(monday_early, SHANGHAI) == "2026-W11" and iso_week(monday_early, UTC) == "2026-W10"
    with manager.store.session() as s:
        local = kpis(s, W10, W12, GroupBy.WEEK, SHANGHAI)
        utc = kpis(s, W10, W12, GroupBy.WEEK, UTC)
    assert [(k.key, k.due) for k in local] == [("2026-W11", 1)]
    assert [(k.key, k.due) for k in utc] == [("2026-W10", 1)]
