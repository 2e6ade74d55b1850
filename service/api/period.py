"""The KPI period of the report and export routes: ``start`` and ``end`` query parameters, checked once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Query

from service.api.schemas import Instant

DEFAULT_PERIOD = timedelta(days=28)
MAX_PERIOD = timedelta(days=3 * 366)  # week grouping builds one SQL branch per week


@dataclass(frozen=True)
class Period:
    """Cases due in ``[start, end)`` (aware datetimes), at most :data:`MAX_PERIOD` long."""

    start: datetime
    end: datetime


def kpi_period(
    start: Annotated[Instant | None, Query(description="deadlines at or after; default end - 28 days")] = None,
    end: Annotated[Instant | None, Query(description="period end (deadlines before); default now")] = None,
) -> Period:
    """The period the query names (default: the 28 days up to now); 422 when empty, reversed or too long."""
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_PERIOD
    if not start < end or end - start > MAX_PERIOD:
        raise HTTPException(422, f"start must be before end, at most {MAX_PERIOD.days} days apart")
    return Period(start, end)


PeriodDep = Annotated[Period, Depends(kpi_period)]
