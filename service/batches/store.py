"""Photo batches in the store: creating one with its items, the worker's bookkeeping, and reading them back.

An item turns ``done`` only inside the transaction that ingests its sightings (:func:`finish_item` is the hook
given to :func:`service.scan.scan_photo`), so after a crash an item is either done with its cases, or pending
with none of them, and the worker simply takes up the pending ones again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer

from service.cases.sightings import Outcome
from service.scan import PhotoScan
from service.store.models import BatchState, ItemState, PhotoBatch, PhotoBatchItem

MAX_PAGE = 1000


@dataclass(frozen=True)
class NewItem:
    """An accepted upload entry, already on disk as ``stored`` in the batch folder."""

    name: str
    stored: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Rejected:
    """An upload entry refused before processing (unsafe path, too large, not an image name...)."""

    name: str
    error: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "error": self.error}


def create_batch(
    session: Session,
    batch_id: str,
    items: Sequence[NewItem],
    rejected: Sequence[Rejected],
    *,
    rejected_total: int | None = None,
    actor: str,
    now: datetime,
    place_id: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> PhotoBatch:
    """Insert a queued batch and its pending items (seq from 1, in upload order); ``rejected`` is a sample of the
    ``rejected_total`` entries refused at upload (default: all of them)."""
    batch = PhotoBatch(
        id=batch_id,
        state=BatchState.QUEUED if items else BatchState.DONE,
        created_by=actor,
        created_at=now,
        finished_at=None if items else now,
        place_id=place_id,
        lat=lat,
        lon=lon,
        total=len(items),
        processed=0,
        failed=0,
        opened=0,
        recurred=0,
        updated=0,
        duplicate=0,
        rejected=[r.to_json() for r in rejected],
        rejected_total=len(rejected) if rejected_total is None else rejected_total,
    )
    session.add(batch)
    session.flush()
    session.add_all(
        PhotoBatchItem(
            batch_id=batch_id,
            seq=seq,
            name=item.name,
            stored=item.stored,
            size=item.size,
            sha256=item.sha256,
            state=ItemState.PENDING,
            sightings=[],
        )
        for seq, item in enumerate(items, start=1)
    )
    return batch


def batches_with_pending_items(session: Session) -> list[str]:
    """Ids of unfinished batches, oldest first (what the worker takes up, after a restart too)."""
    query = select(PhotoBatch.id).where(PhotoBatch.state != BatchState.DONE).order_by(PhotoBatch.created_at)
    return list(session.scalars(query))


def pending_items(session: Session, batch_id: str, limit: int) -> list[PhotoBatchItem]:
    query = (
        select(PhotoBatchItem)
        .where(PhotoBatchItem.batch_id == batch_id, PhotoBatchItem.state == ItemState.PENDING)
        .order_by(PhotoBatchItem.seq)
        .limit(limit)
    )
    return list(session.scalars(query))


def _claim(session: Session, item_id: int, state: ItemState, now: datetime, **values: Any) -> str | None:
    """Move a pending item to ``state``; returns its batch id, or None when it was not pending (nothing changes)."""
    result = session.execute(
        update(PhotoBatchItem)
        .where(PhotoBatchItem.id == item_id, PhotoBatchItem.state == ItemState.PENDING)
        .values(state=state, processed_at=now, **values)
        .returning(PhotoBatchItem.batch_id)
    )
    return result.scalar_one_or_none()


def finish_item(session: Session, photo: PhotoScan, *, item_id: int, now: datetime) -> None:
    """Mark an item done with what its photo gave, and count its sightings in the batch (same transaction)."""
    sightings = [
        {"case": s.case_id, "outcome": str(s.outcome), "violation": str(s.event.violation)} for s in photo.sightings
    ]
    batch_id = _claim(
        session,
        item_id,
        ItemState.DONE,
        now,
        taken_at=photo.taken_at,
        time_note=photo.time_note[:200] if photo.time_note else None,
        place_id=photo.place_id,
        lat=photo.lat,
        lon=photo.lon,
        detections=photo.detections,
        sightings=sightings,
    )
    if batch_id is None:
        return
    outcomes = [s.outcome for s in photo.sightings]
    counts = {str(o): outcomes.count(o) for o in Outcome}
    session.execute(
        update(PhotoBatch)
        .where(PhotoBatch.id == batch_id)
        .values(
            processed=PhotoBatch.processed + 1,
            state=BatchState.PROCESSING,
            opened=PhotoBatch.opened + counts[Outcome.OPENED],
            recurred=PhotoBatch.recurred + counts[Outcome.RECURRED],
            updated=PhotoBatch.updated + counts[Outcome.UPDATED],
            duplicate=PhotoBatch.duplicate + counts[Outcome.DUPLICATE],
        )
    )


def fail_item(session: Session, item_id: int, error: str, now: datetime) -> None:
    """Mark an item failed with its message (an unusable photo: no case was touched)."""
    batch_id = _claim(session, item_id, ItemState.FAILED, now, error=error[:2000])
    if batch_id is not None:
        session.execute(
            update(PhotoBatch)
            .where(PhotoBatch.id == batch_id)
            .values(processed=PhotoBatch.processed + 1, failed=PhotoBatch.failed + 1, state=BatchState.PROCESSING)
        )


def cancel_batch(session: Session, batch_id: str, actor: str, now: datetime) -> int:
    """Fail every pending item of a batch as cancelled by ``actor`` and close it; returns how many were pending.

    Items the worker has in hand finish or fail as usual: an item is claimed only while pending.
    """
    cancelled = len(
        session.execute(
            update(PhotoBatchItem)
            .where(PhotoBatchItem.batch_id == batch_id, PhotoBatchItem.state == ItemState.PENDING)
            .values(state=ItemState.FAILED, processed_at=now, error=f"cancelled by {actor}")
            .returning(PhotoBatchItem.id)
        ).all()
    )
    session.execute(
        update(PhotoBatch)
        .where(PhotoBatch.id == batch_id)
        .values(processed=PhotoBatch.processed + cancelled, failed=PhotoBatch.failed + cancelled)
    )
    close_if_finished(session, batch_id, now)
    return cancelled


def close_if_finished(session: Session, batch_id: str, now: datetime) -> bool:
    """Mark the batch done when no item is pending; returns whether it is done."""
    left = session.scalar(
        select(func.count())
        .select_from(PhotoBatchItem)
        .where(PhotoBatchItem.batch_id == batch_id, PhotoBatchItem.state == ItemState.PENDING)
    )
    if left:
        return False
    session.execute(
        update(PhotoBatch)
        .where(PhotoBatch.id == batch_id, PhotoBatch.state != BatchState.DONE)
        .values(state=BatchState.DONE, finished_at=now)
    )
    return True


def get_batch(session: Session, batch_id: str) -> PhotoBatch | None:
    return session.get(PhotoBatch, batch_id)


def list_batches(session: Session, *, limit: int = 50, offset: int = 0) -> list[PhotoBatch]:
    """Newest first, without the refused entries' sample (a summary never shows it)."""
    query = (
        select(PhotoBatch)
        .options(defer(PhotoBatch.rejected))
        .order_by(PhotoBatch.created_at.desc(), PhotoBatch.id)
        .limit(min(limit, MAX_PAGE))
    )
    return list(session.scalars(query.offset(offset)))


def list_items(
    session: Session, batch_id: str, *, state: ItemState | None = None, limit: int = 100, offset: int = 0
) -> list[PhotoBatchItem]:
    """A batch's items in upload order, optionally only those in ``state``."""
    query = select(PhotoBatchItem).where(PhotoBatchItem.batch_id == batch_id)
    if state is not None:
        query = query.where(PhotoBatchItem.state == state)
    query = query.order_by(PhotoBatchItem.seq).limit(min(limit, MAX_PAGE)).offset(offset)
    return list(session.scalars(query))


def batch_cases(session: Session, batch_id: str) -> dict[str, list[int]]:
    """The cases a batch's photos touched, per outcome (each case id once per outcome, ascending)."""
    found: dict[str, set[int]] = {str(o): set() for o in Outcome}
    rows = session.scalars(
        select(PhotoBatchItem.sightings).where(
            PhotoBatchItem.batch_id == batch_id, PhotoBatchItem.state == ItemState.DONE
        )
    )
    for sightings in rows:
        for s in sightings:
            found[s["outcome"]].add(int(s["case"]))
    return {outcome: sorted(ids) for outcome, ids in found.items()}


def count_batches(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PhotoBatch)) or 0


def count_items(session: Session, batch_id: str, state: ItemState) -> int:
    query = select(func.count()).select_from(PhotoBatchItem)
    return session.scalar(query.where(PhotoBatchItem.batch_id == batch_id, PhotoBatchItem.state == state)) or 0
