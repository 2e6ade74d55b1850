"""KPIs and the weekly grid ranking."""

from __future__ import annotations

from service.api.schemas import Response


class KpiOut(Response):
    """One group's counts and rates (see :mod:`service.cases.kpi` for the definitions)."""

    key: str | None
    due: int
    deferred: int
    assessed: int
    closed: int
    closed_on_time: int
    reworked: int
    extended: int
    recurrent: int
    closure_rate: float | None
    on_time_rate: float | None
    rework_rate: float | None
    extension_rate: float | None
    recurrence_rate: float | None
    mean_hours_to_dispatch: float | None
    mean_hours_to_close: float | None


class RankingOut(Response):
    week: str
    best: list[KpiOut]
    worst: list[KpiOut]
