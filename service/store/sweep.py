"""The orphan sweep: evidence pictures that no case references are removed from the evidence store.

Pictures are written before the rows that name them (a row never names a missing file), so a transaction that
fails after the write (a refused action, a lost connection, a crash) can leave a picture that nothing names. Such a
file is harmless but takes space and may show a person; the sweep removes it. A picture younger than
``min_age`` is kept whatever the rows say: its writer may still be about to commit the rows that name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.store.blobs import BlobStore
from service.store.db import Store
from service.store.evidence import StoredBlob
from service.store.models import EvidenceFile

DEFAULT_MIN_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class SweepResult:
    """What a sweep found: the orphans removed (or, in a dry run, that would be), and how many pictures it kept."""

    removed: list[StoredBlob]
    kept: int


def sweep_orphans(
    store: Store,
    blobs: BlobStore,
    *,
    min_age: timedelta = DEFAULT_MIN_AGE,
    now: datetime | None = None,
    dry_run: bool = False,
) -> SweepResult:
    """Remove every picture in ``blobs`` older than ``min_age`` whose hash no evidence row of ``store`` names.

    Evidence rows are written only with the case links that use them, in one transaction, so "no row" is "no case
    references it". The rows are read after the listing: a picture committed meanwhile is seen as referenced.
    """
    cutoff = (now or datetime.now(UTC)) - min_age
    found = list(blobs.blobs())
    candidates = [blob for blob in found if blob.written_at < cutoff]
    with store.session() as session:
        referenced = set(session.scalars(select(EvidenceFile.sha256)))
    removed = [blob for blob in candidates if blob.sha256 not in referenced]
    if not dry_run:
        for blob in removed:
            blobs.delete(blob)
    return SweepResult(removed, len(found) - len(removed))
