"""How good the detector is, from what people said: precision from the operators' verdicts and recall from the
misses they reported (漏报), per label, per camera or per ISO week.

For the detector's cases (not those filed by hand) first seen in ``[start, end)``, the latest verdict on each:

- **reviewed**: cases with a verdict; **confirmed**: the latest says confirm; **rejected**: reject (a false
  alarm); **relabelled**: the thing was there, of another violation type (counted reviewed, not confirmed).
- **missed**: violations reported missed by a camera, seen in the period (a miss has a label and a camera).
- precision = confirmed / reviewed; recall = confirmed / (confirmed + missed). None when the denominator is 0.

Photo cases have no camera: grouped by camera they count under ``"(photos)"``. ``grids`` limits the figures to the
cases, and the misses of cameras, of those grids (a unit handler's); None counts everything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from domain.errors import CaseError
from domain.taxonomy import LABEL_NAMES, Violation, label
from service.cases.kpi import iso_week
from service.store.models import Camera, Case, CaseSource, MissedReport, Verdict, VerdictKind

NO_CAMERA = "(photos)"  # not a slug, so never a camera id; not a formula in a spreadsheet either


class QualityBy(StrEnum):
    LABEL = "label"
    CAMERA = "camera"
    WEEK = "week"


@dataclass
class Quality:
    """One group's counts (``key``: a label, a camera id or ``2026-W07``; None = all) and rates."""

    key: str | None
    reviewed: int = 0
    confirmed: int = 0
    rejected: int = 0
    relabelled: int = 0
    missed: int = 0

    @property
    def precision(self) -> float | None:
        return self.confirmed / self.reviewed if self.reviewed else None

    @property
    def recall(self) -> float | None:
        found = self.confirmed + self.missed
        return self.confirmed / found if found else None


def _key(by: QualityBy | None, label_name: str, camera_id: str | None, at: datetime, tz: tzinfo) -> str | None:
    if by is QualityBy.LABEL:
        return label_name
    if by is QualityBy.CAMERA:
        return camera_id or NO_CAMERA
    if by is QualityBy.WEEK:
        return iso_week(at, tz)
    return None


def _latest_verdicts(
    session: Session, start: datetime, end: datetime, grids: frozenset[str] | None
) -> Iterable[tuple[Case, str]]:
    visible = true() if grids is None else Case.grid_id.in_(sorted(grids))
    rows = session.execute(
        select(Case, Verdict.verdict)
        .join(Verdict, Verdict.case_id == Case.id)
        .where(Case.source == CaseSource.DETECTOR, Case.first_seen >= start, Case.first_seen < end, visible)
        .order_by(Verdict.at, Verdict.id)
    ).all()
    latest: dict[int, tuple[Case, str]] = {}
    for case, verdict in rows:
        latest[case.id] = (case, verdict)
    return latest.values()


def quality(
    session: Session,
    start: datetime,
    end: datetime,
    by: QualityBy | None,
    tz: tzinfo,
    *,
    grids: frozenset[str] | None = None,
) -> list[Quality]:
    """The figures of the period, one row per group sorted by key (one row overall without ``by``)."""
    groups: dict[str | None, Quality] = defaultdict(lambda: Quality(None))

    def group(key: str | None) -> Quality:
        row = groups[key]
        row.key = key
        return row

    for case, verdict in _latest_verdicts(session, start, end, grids):
        row = group(_key(by, case.label, case.camera_id, case.first_seen, tz))
        row.reviewed += 1
        row.confirmed += verdict == VerdictKind.CONFIRM
        row.rejected += verdict == VerdictKind.REJECT
        row.relabelled += verdict == VerdictKind.RELABEL
    misses = select(MissedReport).where(MissedReport.seen_at >= start, MissedReport.seen_at < end)
    if grids is not None:
        misses = misses.join(Camera, Camera.id == MissedReport.camera_id).where(Camera.grid_id.in_(sorted(grids)))
    for miss in session.scalars(misses):
        group(_key(by, miss.label, miss.camera_id, miss.seen_at, tz)).missed += 1
    if by is None and not groups:
        return [Quality(None)]
    return sorted(groups.values(), key=lambda q: q.key or "")


def miss_label(violation: Violation, label_name: str | None) -> str:
    """The detector label a missed violation should have been found as: the one given (which must raise that
    violation), else the only label that raises it; :class:`CaseError` when it is not clear which."""
    if label_name is not None:
        if label_name not in LABEL_NAMES or violation not in label(label_name).violations:
            raise CaseError(f"label {label_name!r} does not raise {violation}")
        return label_name
    names = [name for name in LABEL_NAMES if violation in label(name).violations]
    if len(names) != 1:
        raise CaseError(f"{violation} is found as one of {', '.join(names)}: say which label was missed")
    return names[0]


def record_miss(
    session: Session,
    *,
    camera_id: str,
    seen_at: datetime,
    violation: Violation,
    label_name: str | None,
    note: str | None,
    case_id: int | None,
    actor: str,
    now: datetime,
) -> MissedReport:
    """Keep a reported miss; :class:`CaseError` for an unknown camera or case, or an unclear label."""
    if session.get(Camera, camera_id) is None:
        raise CaseError(f"unknown camera {camera_id!r}")
    if case_id is not None and session.get(Case, case_id) is None:
        raise CaseError(f"no case {case_id}")
    row = MissedReport(
        camera_id=camera_id,
        seen_at=seen_at,
        violation=violation,
        label=miss_label(violation, label_name),
        note=note,
        case_id=case_id,
        reported_by=actor,
        reported_at=now,
    )
    session.add(row)
    session.flush()
    return row


def misses(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    cameras: Collection[str] = (),
    grids: frozenset[str] | None = None,
    limit: int = 200,
) -> list[MissedReport]:
    """Misses seen in ``[start, end)``, newest first: of ``cameras`` (all when empty), and of cameras of ``grids``
    (None: every camera)."""
    query = select(MissedReport).where(MissedReport.seen_at >= start, MissedReport.seen_at < end)
    if cameras:
        query = query.where(MissedReport.camera_id.in_(sorted(cameras)))
    if grids is not None:
        query = query.where(MissedReport.camera_id.in_(select(Camera.id).where(Camera.grid_id.in_(sorted(grids)))))
    return list(session.scalars(query.order_by(MissedReport.seen_at.desc(), MissedReport.id.desc()).limit(limit)))
