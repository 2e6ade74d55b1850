"""Working-time arithmetic for case deadlines: pure functions of aware datetimes and a :class:`WorkCalendar`.

Arithmetic runs on UTC instants, so it stays right in time zones with daylight saving; the working periods are
local wall-clock times of each working day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from service.core.site import Deadline, WorkCalendar

_MAX_DAYS = 3 * 366  # a deadline further than this in working time means a calendar with (almost) no working days


def _require_aware(*moments: datetime) -> None:
    for m in moments:
        if m.tzinfo is None or m.utcoffset() is None:
            raise ValueError(f"timezone-aware datetime required, got naive {m.isoformat()}")


def _periods(day: date, cal: WorkCalendar) -> Iterator[tuple[datetime, datetime]]:
    """The working periods of ``day`` as (start, end) UTC instants; none on a day off."""
    if not cal.is_workday(day):
        return
    for p in cal.periods:
        start = datetime.combine(day, p.start, tzinfo=cal.tz).astimezone(UTC)
        end = datetime.combine(day, p.end, tzinfo=cal.tz).astimezone(UTC)
        yield start, end


def add_working_time(start: datetime, deadline: Deadline, cal: WorkCalendar) -> datetime:
    """The instant ``deadline`` after ``start``, in ``start``'s time zone.

    ``working_hours`` count only working periods; ``working_days`` are N times a working day's length
    (:attr:`WorkCalendar.day_seconds`) of working time, so 1 working day from Tuesday 10:00 is Wednesday 10:00;
    ``calendar_hours`` are plain hours. A clock started outside working time begins at the next working period;
    a deadline landing exactly on a period's end is that end, not the next morning.
    """
    _require_aware(start)
    if deadline.unit == "calendar_hours":
        return start + timedelta(hours=deadline.amount)
    per_unit = 3600.0 if deadline.unit == "working_hours" else cal.day_seconds
    remaining = deadline.amount * per_unit
    at = start.astimezone(UTC)
    first_day = at.astimezone(cal.tz).date()
    for offset in range(_MAX_DAYS):
        for p_start, p_end in _periods(first_day + timedelta(days=offset), cal):
            begin = max(p_start, at)
            if begin >= p_end:
                continue
            available = (p_end - begin).total_seconds()
            if remaining <= available:
                return (begin + timedelta(seconds=remaining)).astimezone(start.tzinfo)
            remaining -= available
    raise ValueError(f"no deadline within {_MAX_DAYS} days: the calendar has too little working time")


def working_seconds_between(a: datetime, b: datetime, cal: WorkCalendar) -> float:
    """Working seconds from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    _require_aware(a, b)
    if b < a:
        return -working_seconds_between(b, a, cal)
    lo, hi = a.astimezone(UTC), b.astimezone(UTC)
    day, last = lo.astimezone(cal.tz).date(), hi.astimezone(cal.tz).date()
    total = 0.0
    while day <= last:
        for p_start, p_end in _periods(day, cal):
            total += max(0.0, (min(p_end, hi) - max(p_start, lo)).total_seconds())
        day += timedelta(days=1)
    return total
