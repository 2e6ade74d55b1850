"""The background worker that processes uploaded photo batches.

One thread takes the oldest unfinished batch and runs its pending photos through detection, the photo rules
and the case manager (:func:`service.scan.scan_photo`), a chunk at a time so decoding overlaps inference. Each
photo's item is marked done in the transaction that ingests its sightings, so a crash (kill -9 included) loses
nothing and repeats nothing: on start-up the worker finds the pending items and goes on. Database trouble and a full
disk are not a photo's fault: the worker logs them, waits and tries the same items again. Anything else that goes
wrong with one photo is that photo's fault: it is tried :data:`MAX_ATTEMPTS` times, then failed alone, so one bad
photo never holds up its batch or the batches queued behind it. At start-up it removes the folders of uploads that a
crash cut off before they became batches.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import GridWatchError
from service.batches import store as batches
from service.batches.ingest import batch_dir
from service.context import Context
from service.scan import PhotoScan, Where, detect_kept, scan_photo
from service.store.db import is_database_unavailable
from service.store.evidence import is_storage_full
from service.store.models import BatchState, PhotoBatch, PhotoBatchItem
from vision.imageio import read_bytes
from vision.pipeline import PhotoResult
from vision.sources import Source

log = logging.getLogger(__name__)

CHUNK = 16  # items read per query: bounded memory, and the pipeline stays full
RETRY_S = 5.0
MAX_ATTEMPTS = 3  # of one photo that fails for an unexpected reason, before it is failed alone


class BatchWorker:
    """Processes batches in a background thread; :meth:`wake` after an upload, :meth:`stop` at shutdown."""

    def __init__(self, ctx: Context, *, idle_s: float = 2.0, workers: int = 2) -> None:
        self.ctx = ctx
        self.idle_s = idle_s
        self.workers = workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sweep cut-off uploads and start the thread (again after :meth:`stop`, with the pending items)."""
        self._stop.clear()
        try:
            self.sweep_orphans()
        except Exception:  # a sweep that fails must not keep the service from starting
            log.exception("cannot sweep unfinished uploads")
        self._thread = threading.Thread(target=self._run, name="photo-batches", daemon=True)
        self._thread.start()

    def sweep_orphans(self) -> int:
        """Remove batch folders nothing will read again: uploads cut off by a crash (kill -9, power loss) after their
        folder was made and before the batch was recorded, and folders of finished batches (a crash between the
        last item and the folder's removal). Called at start-up, before any upload can be in flight."""
        root = self.ctx.settings.data_dir / "batches"
        folders = {p.name: p for p in root.glob("*") if p.is_dir() and re.fullmatch(r"[0-9a-f]{32}", p.name)}
        if not folders:
            return 0
        with self.ctx.store.session() as s:
            unfinished = set(
                s.scalars(
                    select(PhotoBatch.id).where(PhotoBatch.id.in_(list(folders)), PhotoBatch.state != BatchState.DONE)
                )
            )
        stale = [folder for name, folder in folders.items() if name not in unfinished]
        for folder in stale:
            log.warning("removing %s: an upload that never became a batch, or a finished batch's files", folder)
            shutil.rmtree(folder, ignore_errors=True)
        return len(stale)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the photo in hand and stop; pending photos stay pending for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # database or disk trouble: keep the items, try again later
                log.exception("photo batch worker failed; retrying in %.0f s", RETRY_S)
                self._stop.wait(RETRY_S)
                continue
            if not worked:
                self._wake.wait(self.idle_s)
                self._wake.clear()

    def run_once(self) -> bool:
        """Process every pending photo of every unfinished batch; returns whether there was anything to do."""
        with self.ctx.store.session() as s:
            ids = batches.batches_with_pending_items(s)
        for batch_id in ids:
            self.process(batch_id, stop=self._stop.is_set)
            if self._stop.is_set():
                break
        return bool(ids)

    def process(self, batch_id: str, stop: Callable[[], bool] = lambda: False) -> None:
        """Process a batch's pending photos until none is left (or ``stop`` says so), then close it."""
        ctx = self.ctx
        folder = batch_dir(ctx.settings.data_dir, batch_id)
        with ctx.store.session() as s:
            batch = s.get_one(PhotoBatch, batch_id)
            where = Where(None, batch.place_id, batch.lat, batch.lon)
        while not stop():
            with ctx.store.session() as s:
                items = batches.pending_items(s, batch_id, CHUNK)
            if not items:
                break
            self._chunk(items, folder, where, stop)
        with ctx.store.transaction() as s:
            finished = batches.close_if_finished(s, batch_id, ctx.manager.clock())
        if finished:  # what must be kept is in the evidence store now; the uploaded copies are working files
            shutil.rmtree(folder, ignore_errors=True)

    def _chunk(self, items: list[PhotoBatchItem], folder: Path, where: Where, stop: Callable[[], bool]) -> None:
        ctx = self.ctx
        sources = [Source(item.name, read=partial(read_bytes, folder / item.stored)) for item in items]
        photos = detect_kept(sources, ctx.photos, workers=self.workers)
        for item, (result, data) in zip(items, photos, strict=False):
            error = self._scan_item(item, result, data, where)
            if error is not None:
                with ctx.store.transaction() as s:
                    batches.fail_item(s, item.id, error, ctx.manager.clock())
            (folder / item.stored).unlink(missing_ok=True)  # judged: its evidence, if any, is stored
            if stop():
                return

    def _scan_item(self, item: PhotoBatchItem, result: PhotoResult, data: bytes | None, where: Where) -> str | None:
        """Judge one photo and mark it done; returns why it failed (None when it did not).

        Raises what is not the photo's fault (a full disk, a database that is down), so the worker waits and
        tries again; anything else unexpected is retried, then reported as the photo's error.
        """
        ctx = self.ctx
        attempt = 0
        while True:
            attempt += 1
            finish: Callable[[Session, PhotoScan], None] = partial(
                batches.finish_item, item_id=item.id, now=ctx.manager.clock()
            )
            try:
                return scan_photo(ctx, result, data, where, then=finish, local_file=False).error
            except (GridWatchError, OSError) as exc:  # refused by the case manager or the evidence folder
                if is_storage_full(exc):
                    raise  # not the photo's fault: it stays pending and is tried again after RETRY_S
                return str(exc)
            except Exception as exc:
                if is_database_unavailable(exc):
                    raise
                if attempt >= MAX_ATTEMPTS:
                    log.exception("photo %s (%s) failed %d times; failing it alone", item.id, item.name, attempt)
                    return f"internal error ({type(exc).__name__}); the photo was set aside"
                log.warning("photo %s (%s) failed (%r); trying again", item.id, item.name, exc)
