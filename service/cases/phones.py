"""What was read on flyposting sightings (the text and its phone numbers): kept with the case and observation,
and the numbers aggregated per number.

The number behind many small ads is what enforcement acts on, so the report turns the cases around: number ->
the cases it was seen on, when it was first and last seen, and in which grids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.cases.queries import visible_condition
from service.cases.sightings import IngestResult
from service.store.models import Case, CasePhone, Observation
from vision.boxes import box_cover
from vision.ocr import Phone
from vision.textfinder import TextBlock

MAX_TEXT = 4000  # characters of a sighting's text kept: a wall of small ads, not a book


@dataclass(frozen=True)
class PosterReading:
    """What was read on one flyposting sighting: the text (blocks apart by a blank line) and its phone numbers."""

    text: str = ""
    phones: tuple[Phone, ...] = ()


def read_poster(
    blocks: Sequence[TextBlock], size: tuple[int, int], bbox: tuple[float, float, float, float]
) -> PosterReading | None:
    """The reading of the text ``blocks`` (in pixels of a ``size`` = width, height picture) that lie mostly (half or
    more) inside the normalised ``bbox`` of a poster; None when no block does."""
    if not blocks:
        return None
    scale = np.array([size[0], size[1]] * 2, np.float64)
    share = box_cover(np.array([b.xyxy for b in blocks], np.float64) / scale, np.array([bbox], np.float64))[:, 0]
    inside = [b for b, s in zip(blocks, share.tolist(), strict=True) if s >= 0.5]
    if not inside:
        return None
    phones = {p.number: p for b in inside for p in b.phones}  # a number on two copies of the sheet is one number
    return PosterReading("\n\n".join(b.text for b in inside), tuple(phones.values()))


def attach_readings(
    session: Session, ingested: Sequence[IngestResult], readings: Sequence[PosterReading], seen_at: datetime
) -> None:
    """Keep ``readings[i]`` with the case and observation of ``ingested[i]``: the text on the observation, each
    phone number as a row; a number already on that observation (the same photo ingested again) is kept once."""
    for result, reading in zip(ingested, readings, strict=True):
        if reading.text:
            text = reading.text[:MAX_TEXT]
            session.execute(update(Observation).where(Observation.id == result.observation_id).values(text=text))
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
        for result, reading in zip(ingested, readings, strict=True)
        for phone in reading.phones
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
