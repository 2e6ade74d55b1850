"""KPIs, the weekly rankings (红黑榜), the weekly exposure list (周曝光) and the detector's quality."""

from __future__ import annotations

from datetime import datetime

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
    """A week's ranking by grid or unit: every one ranked (``ranked``), the 红榜 ``best`` and the 黑榜 ``worst``."""

    week: str
    by: str
    ranked: list[KpiOut]
    best: list[KpiOut]
    worst: list[KpiOut]


class ExposedOut(Response):
    case_id: int
    violation: str
    state: str
    grid_id: str | None
    unit_id: str | None
    deadline_at: datetime
    overdue_hours: float
    rework_count: int
    supervision_count: int
    recurrent: bool


class ExposureOut(Response):
    """周曝光: the week's worst cases as they stood at ``as_of`` (the week's end, or now during the week)."""

    week: str
    as_of: datetime
    cases: list[ExposedOut]


class QualityOut(Response):
    """Detector quality of one group (see :mod:`service.cases.quality`)."""

    key: str | None
    reviewed: int
    confirmed: int
    rejected: int
    relabelled: int
    missed: int
    precision: float | None
    recall: float | None
