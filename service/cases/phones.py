"""Phone numbers read on flyposting sightings: attached to their case and observation, aggregated per number.

The number behind many small ads is what enforcement acts on, so the report turns the cases around: number ->
the cases it was seen on, when it was first and last seen, and in which grids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.cases.queries import visible_condition
from service.cases.sightings import IngestResult
from service.store.models import Case, CasePhone
from vision.ocr import Phone


def attach_phones(
    session: Session, ingested: Sequence[IngestResult], phones: Sequence[Sequence[Phone]], seen_at: datetime
) -> None:
    """Record ``phones[i]`` on the case and observation of ``ingested[i]``; a number already on that observation
    (the same photo ingested again) is kept once."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {
            "case_id": result.case.id,
            "observation_id": result.observation_id,
            "number": phone.number,
            "kind": phone.kind,
            "text": phone.text[:500],
            "seen_at": seen_at,
        }
        for result, found in zip(ingested, phones, strict=True)
        for phone in found
    ]
    if rows:
        statement = insert(CasePhone).values(rows)
        session.execute(statement.on_conflict_do_nothing(index_elements=["observation_id", "number"]))


@dataclass(frozen=True)
class PhoneSummary:
    """One number across every case it was read on."""

    number: str
    kind: str
    cases: list[int]
    grids: list[str]
    sightings: int
    first_seen: datetime
    last_seen: datetime


@dataclass
class _Seen:
    kind: str
    cases: set[int] = field(default_factory=set)
    grids: set[str] = field(default_factory=set)
    times: list[datetime] = field(default_factory=list)


def phone_report(
    session: Session, *, units_visible: frozenset[str] | None = None, min_cases: int = 1
) -> list[PhoneSummary]:
    """Every number seen on at least ``min_cases`` cases, most cases first (then most recent).

    ``units_visible`` limits the cases counted to those dispatched to these units (a unit handler's, as
    :func:`~service.cases.queries.visible_condition` says); None counts every case.
    """
    query = select(CasePhone.number, CasePhone.kind, CasePhone.case_id, CasePhone.seen_at, Case.grid_id).join(
        Case, Case.id == CasePhone.case_id
    )
    query = query.where(visible_condition(units_visible))
    seen: dict[str, _Seen] = {}
    for number, kind, case_id, at, grid_id in session.execute(query):
        entry = seen.setdefault(number, _Seen(kind))
        entry.cases.add(case_id)
        entry.grids.update([grid_id] if grid_id is not None else [])
        entry.times.append(at)
    report = [
        PhoneSummary(
            number=number,
            kind=e.kind,
            cases=sorted(e.cases),
            grids=sorted(e.grids),
            sightings=len(e.times),
            first_seen=min(e.times),
            last_seen=max(e.times),
        )
        for number, e in seen.items()
    ]
    report = [r for r in report if len(r.cases) >= min_cases]
    return sorted(report, key=lambda r: (-len(r.cases), -r.last_seen.timestamp(), r.number))
