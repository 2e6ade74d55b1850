"""Working-time deadlines on hand-computed examples (Asia/Shanghai, 2025 National Day holiday and make-up days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.core.calendar import add_working_time, working_seconds_between
from service.core.site import Deadline, WorkCalendar, WorkPeriod

SH = ZoneInfo("Asia/Shanghai")
# Default periods 08:30-12:00 and 13:30-17:30 (7.5 h a day), Mon-Fri; 2025 National Day: Oct 1-8 off
# (Oct 4-5 fall on the weekend anyway), Sun Sep 28 and Sat Oct 11 are make-up working days.
CAL = WorkCalendar(
    holidays=frozenset(date(2025, 10, d) for d in (1, 2, 3, 6, 7, 8)),
    extra_workdays=frozenset({date(2025, 9, 28), date(2025, 10, 11)}),
)


def sh(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize(
    ("start", "amount", "unit", "due"),
    [
        (sh(9, 22, 10), 4, "working_hours", sh(9, 22, 15, 30)),  # Mon: 2 h before lunch, 2 h after
        (sh(9, 22, 11), 2, "working_hours", sh(9, 22, 14, 30)),  # across the lunch break
        (sh(9, 22, 12, 30), 1, "working_hours", sh(9, 22, 14, 30)),  # dispatched during lunch
        (sh(9, 22, 16, 30), 1, "working_hours", sh(9, 22, 17, 30)),  # ends exactly at closing time
        (sh(9, 19, 16, 30), 4, "working_hours", sh(9, 22, 11, 30)),  # Fri 1 h, weekend, Mon 3 h
        (sh(9, 20, 10), 2, "working_hours", sh(9, 22, 10, 30)),  # dispatched on Saturday
        (sh(9, 26, 16), 4, "working_hours", sh(9, 28, 11)),  # Fri 1.5 h, Sat off, Sun 28 is a make-up day
        (sh(10, 10, 17), 1, "working_hours", sh(10, 11, 9)),  # Fri 0.5 h, Sat 11 is a make-up day
        (sh(9, 30, 15), 1, "working_days", sh(10, 9, 15)),  # Tue 2.5 h, holiday Oct 1-8, Thu 9 5 h
        (sh(9, 23, 10), 1, "working_days", sh(9, 24, 10)),  # a working day is 7.5 working hours
        (sh(9, 22, 8, 30), 0.5, "working_days", sh(9, 22, 13, 45)),  # 3.75 h: 3.5 h + 15 min
        (sh(9, 19, 16, 30), 24, "calendar_hours", sh(9, 20, 16, 30)),  # plain hours, weekend or not
        (sh(9, 30, 23), 3, "working_days", sh(10, 11, 17, 30)),  # Thu 9, Fri 10, make-up Sat 11, to closing
    ],
)
def test_add_working_time(start: datetime, amount: float, unit: str, due: datetime) -> None:
    deadline = Deadline.model_validate({"amount": amount, "unit": unit})
    assert add_working_time(start, deadline, CAL) == due


def test_add_working_time_keeps_the_callers_time_zone() -> None:
    start = datetime(2025, 9, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    due = add_working_time(start, Deadline(amount=4, unit="working_hours"), CAL)
    assert due.tzinfo is UTC and due == datetime(2025, 9, 22, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai


@pytest.mark.parametrize(
    ("a", "b", "hours"),
    [
        (sh(9, 22, 10), sh(9, 22, 15, 30), 4.0),
        (sh(9, 22, 12, 10), sh(9, 22, 13, 20), 0.0),  # inside lunch
        (sh(9, 19, 16, 30), sh(9, 22, 11, 30), 4.0),  # over a weekend
        (sh(9, 30, 15), sh(10, 9, 15), 7.5),  # over the holiday
        (sh(9, 26, 0), sh(9, 29, 0), 15.0),  # Fri + make-up Sun 28
        (sh(9, 15, 0), sh(9, 22, 0), 37.5),  # an ordinary week
        (sh(9, 22, 15, 30), sh(9, 22, 10), -4.0),  # backwards is negative
    ],
)
def test_working_seconds_between(a: datetime, b: datetime, hours: float) -> None:
    assert working_seconds_between(a, b, CAL) == pytest.approx(hours * 3600)


@pytest.mark.parametrize("start", [sh(9, 22, 9, 15), sh(9, 26, 17, 10), sh(9, 30, 11, 59), sh(10, 10, 13)])
@pytest.mark.parametrize("hours", [0.25, 1, 4, 7.5, 30])
def test_working_time_round_trip(start: datetime, hours: float) -> None:
    due = add_working_time(start, Deadline(amount=hours, unit="working_hours"), CAL)
    assert working_seconds_between(start, due, CAL) == pytest.approx(hours * 3600)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2025, 9, 22, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_time(naive, Deadline(amount=1, unit="working_hours"), CAL)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_seconds_between(naive, sh(9, 22, 11), CAL)


def test_daylight_saving_day_counts_real_hours() -> None:
    """Europe/Berlin springs forward at 02:00 on Sun 2025-03-30: a 01:00-04:00 period lasts 2 real hours."""
    berlin = WorkCalendar(
        timezone="Europe/Berlin",
        workdays=frozenset(range(7)),
        periods=[WorkPeriod(start=time(1), end=time(4))],
    )
    tz = ZoneInfo("Europe/Berlin")
    day = datetime(2025, 3, 30, tzinfo=tz)
    assert working_seconds_between(day, day + timedelta(days=1), berlin) == pytest.approx(2 * 3600)
    due = add_working_time(datetime(2025, 3, 30, 1, tzinfo=tz), Deadline(amount=2, unit="working_hours"), berlin)
    assert due == datetime(2025, 3, 30, 4, tzinfo=tz)


def test_a_calendar_of_holidays_only_has_no_deadline() -> None:
    start = date(2025, 1, 1)
    cal = WorkCalendar(holidays=frozenset(start + timedelta(days=i) for i in range(4 * 366)))
    with pytest.raises(ValueError, match="too little working time"):
        add_working_time(sh(1, 1, 9), Deadline(amount=1, unit="working_hours"), cal)
