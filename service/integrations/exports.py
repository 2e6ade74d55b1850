"""Exports: cases, KPIs, the weekly ranking (红黑榜), the exposure list (周曝光) and the detector's quality as CSV or
XLSX tables, operators' verdicts as a YOLO dataset for retraining.

Tables are a header row and plain values. CSV is UTF-8 with a byte-order mark (Excel opens the Chinese names
right) and cells that a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``) are quoted with a
leading apostrophe, in XLSX too: an exported note must never run as a formula on an officer's machine.

The verdict dataset has one image per photo with a verdict (the privacy-safe rendition: heads and plates
pixelated), a YOLO label file per image with the confirmed boxes (relabelled ones under their new label where
that names one detector label), and nothing for rejected boxes, which makes their photos hard negatives.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs installed (types-openpyxl)
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.taxonomy import EVENT_CODES, LABEL_NAMES, LABELS, Violation
from service.cases.exposure import Exposure
from service.cases.kpi import Kpi, Ranking
from service.cases.quality import Quality
from service.cases.queries import CaseFilter, due_state, is_overdue, list_cases, time_left
from service.store.models import (
    CasePhone,
    EvidenceKind,
    EvidenceLink,
    EvidenceRole,
    Observation,
    Verdict,
    VerdictKind,
)

Cell = str | int | float | bool | datetime | None
MAX_ROWS = 200_000
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    """A header and rows, ready to write."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def _safe(value: Cell) -> Cell:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _xlsx_safe(value: Cell) -> Cell:
    """:func:`_safe`, and control characters (which a report or note typed by anyone may hold, and which XLSX's XML
    cannot) shown as U+FFFD, so one odd character never fails a whole export."""
    value = _safe(value)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


def _time(value: datetime) -> str:
    """ISO 8601 with its offset when aware (UTC rows); a local wall-clock time reads ``2026-12-03 17:18:00``."""
    return value.isoformat() if value.tzinfo is not None else value.isoformat(sep=" ")


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(["" if v is None else _time(v) if isinstance(v, datetime) else _safe(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(table: Table, *more: Table) -> bytes:
    """A workbook with one sheet per table (the weekly report has several), named after the tables."""
    book = Workbook(write_only=True)
    for each in (table, *more):
        sheet = book.create_sheet(each.name[:31])
        sheet.append(list(each.header))
        for row in each.rows:
            # Excel has no time zones: aware datetimes are written as naive UTC, as the header says (Chinese
            # tables hold naive local times already).
            sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else _xlsx_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


CASE_COLUMNS = (
    "id",
    "state",
    "violation",
    "event_code",
    "event_name",
    "label",
    "confidence",
    "grid_id",
    "unit_id",
    "camera_id",
    "place_id",
    "lat",
    "lon",
    "first_seen_utc",
    "last_seen_utc",
    "observations",
    "created_at_utc",
    "dispatched_at_utc",
    "deadline_at_utc",
    "closed_at_utc",
    "overdue",
    "rework_count",
    "extension_count",
    "previous_case_id",
    "phones",
    "source",
    "due",
    "hours_left",
    "supervision_count",
    "reporter",
    "description",
)


def cases_table(session: Session, f: CaseFilter) -> Table:
    """The cases matching ``f`` (newest first, at most ``MAX_ROWS``), one row each."""
    cases, _ = list_cases(session, f, limit=MAX_ROWS, offset=0)
    phones: dict[int, set[str]] = {}
    ids = [c.id for c in cases]
    for start in range(0, len(ids), 1000):  # bounded IN lists
        chunk = ids[start : start + 1000]
        for case_id, number in session.execute(
            select(CasePhone.case_id, CasePhone.number).where(CasePhone.case_id.in_(chunk))
        ):
            phones.setdefault(case_id, set()).add(number)
    rows = [
        (
            c.id,
            c.state,
            c.violation,
            c.event_code,
            EVENT_CODES[Violation(c.violation)].name,
            c.label,
            round(c.confidence, 4),
            c.grid_id,
            c.unit_id,
            c.camera_id,
            c.place_id,
            c.lat,
            c.lon,
            c.first_seen,
            c.last_seen,
            c.observation_count,
            c.created_at,
            c.dispatched_at,
            c.deadline_at,
            c.closed_at,
            is_overdue(c, f.now),
            c.rework_count,
            c.extension_count,
            c.previous_case_id,
            " ".join(sorted(phones.get(c.id, ()))),
            c.source,
            due_state(c, f.now),
            _hours(time_left(c, f.now)),
            c.supervision_count,
            c.reporter,
            c.description,
        )
        for c in cases
    ]
    return Table("cases", CASE_COLUMNS, rows)


KPI_COLUMNS = (
    "group",
    "due",
    "deferred",
    "assessed",
    "closed",
    "closed_on_time",
    "reworked",
    "extended",
    "recurrent",
    "closure_rate",
    "on_time_rate",
    "rework_rate",
    "extension_rate",
    "recurrence_rate",
    "mean_hours_to_dispatch",
    "mean_hours_to_close",
)


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def _hours(left: timedelta | None) -> float | None:
    return None if left is None else round(left.total_seconds() / 3600.0, 2)


def _kpi_row(k: Kpi) -> tuple[Cell, ...]:
    return (
        k.key if k.key is not None else "all",
        k.due,
        k.deferred,
        k.assessed,
        k.closed,
        k.closed_on_time,
        k.reworked,
        k.extended,
        k.recurrent,
        _r(k.closure_rate),
        _r(k.on_time_rate),
        _r(k.rework_rate),
        _r(k.extension_rate),
        _r(k.recurrence_rate),
        _r(k.mean_hours_to_dispatch),
        _r(k.mean_hours_to_close),
    )


def kpi_table(kpis: Sequence[Kpi]) -> Table:
    return Table("kpis", KPI_COLUMNS, [_kpi_row(k) for k in kpis])


def ranking_table(ranking: Ranking) -> Table:
    """Every grid or unit of the week, best first, with its rank and whether it is on the 红榜 or 黑榜."""
    best, worst = {k.key for k in ranking.best}, {k.key for k in ranking.worst}
    header = ("week", "rank", ranking.by, "list", *KPI_COLUMNS[1:])
    rows = [
        (ranking.week, i, row[0], _honour(k.key, best, worst), *row[1:])
        for i, k in enumerate(ranking.ranked, start=1)
        for row in [_kpi_row(k)]
    ]
    return Table(f"ranking-{ranking.by}", header, rows)


def _honour(key: str | None, best: set[str | None], worst: set[str | None]) -> str:
    return "/".join(name for name, members in (("red", best), ("black", worst)) if key in members)


EXPOSURE_COLUMNS = (
    "week",
    "as_of_utc",
    "case",
    "violation",
    "event_name",
    "state",
    "grid_id",
    "unit_id",
    "deadline_at_utc",
    "overdue_hours",
    "rework_count",
    "supervision_count",
    "recurrent",
)


def exposure_table(exposure: Exposure) -> Table:
    rows = [
        (
            exposure.week,
            exposure.as_of,
            e.case_id,
            e.violation,
            EVENT_CODES[Violation(e.violation)].name,
            e.state,
            e.grid_id,
            e.unit_id,
            e.deadline_at,
            round(e.overdue_hours, 2),
            e.rework_count,
            e.supervision_count,
            e.recurrent,
        )
        for e in exposure.cases
    ]
    return Table("exposure", EXPOSURE_COLUMNS, rows)


QUALITY_COLUMNS = ("group", "reviewed", "confirmed", "rejected", "relabelled", "missed", "precision", "recall")


def quality_table(rows: Sequence[Quality]) -> Table:
    out = [
        (
            q.key if q.key is not None else "all",
            q.reviewed,
            q.confirmed,
            q.rejected,
            q.relabelled,
            q.missed,
            _r(q.precision),
            _r(q.recall),
        )
        for q in rows
    ]
    return Table("quality", QUALITY_COLUMNS, out)


# A relabel names a violation; it becomes a box label only where exactly one detector label raises it.
_LABEL_OF: dict[str, str] = {
    str(v): names[0] for v in Violation if len(names := [item.name for item in LABELS if v in item.violations]) == 1
}


@dataclass(frozen=True)
class _Judged:
    """The latest verdict on one observation's box."""

    sha256: str
    bbox: list[Any]
    label: str | None  # None: rejected (or relabelled to something no single label names)
    case_id: int
    verdict: str


def _judged(session: Session) -> list[_Judged]:
    latest: dict[int, Verdict] = {}
    for verdict in session.scalars(select(Verdict).order_by(Verdict.at, Verdict.id)):
        latest[verdict.case_id] = verdict
    out = []
    for case_id, verdict in sorted(latest.items()):
        rows = session.execute(
            select(Observation.bbox, Observation.label, EvidenceLink.sha256)
            .join(EvidenceLink, EvidenceLink.observation_id == Observation.id)
            .where(Observation.case_id == case_id)
            .where(EvidenceLink.kind == EvidenceKind.ORIGINAL, EvidenceLink.role == EvidenceRole.SIGHTING)
            .order_by(Observation.id)
        )
        for bbox, label, sha256 in rows:
            if verdict.verdict == VerdictKind.CONFIRM:
                name: str | None = label
            elif verdict.verdict == VerdictKind.RELABEL:
                name = _LABEL_OF.get(verdict.violation or "")
            else:
                name = None
            out.append(_Judged(sha256, list(bbox), name, case_id, verdict.verdict))
    return out


def verdicts_dataset(
    session: Session,
    render: Callable[[str], bytes],
) -> bytes:
    """A zip of ``images/train/<sha256>.jpg``, ``labels/train/<sha256>.txt``, ``data.yaml`` (the 12 labels) and
    ``verdicts.csv`` (image, case, verdict, label). ``render(sha256)`` gives the privacy-safe JPEG."""
    judged = _judged(session)
    by_image: dict[str, list[_Judged]] = {}
    for item in judged:
        by_image.setdefault(item.sha256, []).append(item)
    buf = io.BytesIO()
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["image", "case", "verdict", "label", "x1", "y1", "x2", "y2"])
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for sha256, items in sorted(by_image.items()):
            lines = []
            for item in items:
                x1, y1, x2, y2 = (float(v) for v in item.bbox)
                writer.writerow([f"{sha256}.jpg", item.case_id, item.verdict, item.label or "", x1, y1, x2, y2])
                if item.label in LABEL_NAMES:
                    cls = LABEL_NAMES.index(item.label)
                    lines.append(f"{cls} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}")
            zf.writestr(f"images/train/{sha256}.jpg", render(sha256), compress_type=zipfile.ZIP_STORED)
            zf.writestr(f"labels/train/{sha256}.txt", "".join(f"{line}\n" for line in sorted(set(lines))))
        names = "\n".join(f"  {i}: {name}" for i, name in enumerate(LABEL_NAMES))
        zf.writestr(
            "data.yaml",
            f"# GridWatch operator verdicts (confirmed boxes labelled; rejected ones left out)\npath: .\n"
            f"train: images/train\nval: images/train\nnc: {len(LABEL_NAMES)}\nnames:\n{names}\n",
        )
        zf.writestr("verdicts.csv", manifest.getvalue())
    return buf.getvalue()
