"""Photo batches: upload many photos or zips in one multipart request, then follow their processing.

``POST /batches`` streams the body to disk (see :mod:`service.batches.ingest`), answers 202 with the queued
batch and wakes the background worker; ``GET /batches/{id}`` shows progress, per-photo errors and the cases
opened or updated. Ingest tokens and staff (admin, operator) may upload and read batches; uploads are rate-limited
per principal (``Settings.upload_rate_limit``, 429 with Retry-After).
"""

from __future__ import annotations

import logging
import shutil
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from domain.errors import ScanError, UploadError
from service.api.deps import CtxDep, Ingest, SessionDep, Staff, limit_uploads
from service.api.errors import error_body, not_found
from service.api.schemas import Page
from service.api.schemas.batches import Batch, BatchCases, BatchItem, BatchSummary, ItemError
from service.auth import audit
from service.batches import store as batches
from service.batches.ingest import BatchFolder, Limits, MultipartReceiver, batch_dir, new_batch_id
from service.scan import resolve_where
from service.store.models import ItemState, PhotoBatch

log = logging.getLogger(__name__)
router = APIRouter(prefix="/batches", tags=["batches"])
ERRORS_SHOWN = 100  # failed photos shown with a batch; the rest are paged through /items?state=failed


def _float(value: str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise UploadError(f"{name} must be a number, got {value[:40]!r}", 422) from None


def _batch(session: SessionDep, batch: PhotoBatch) -> Batch:
    failed = batches.list_items(session, batch.id, state=ItemState.FAILED, limit=ERRORS_SHOWN)
    return Batch.model_validate(
        {
            **BatchSummary.model_validate(batch).model_dump(),
            "rejected": batch.rejected,
            "errors": [ItemError.model_validate(i) for i in failed],
            "cases": BatchCases(**batches.batch_cases(session, batch.id)),
        }
    )


async def _receive(request: Request, folder: BatchFolder) -> dict[str, str]:
    receiver = MultipartReceiver(request.headers.get("content-type", ""), folder)
    try:
        async for chunk in request.stream():
            await run_in_threadpool(receiver.feed, chunk)
        await run_in_threadpool(receiver.close)
    finally:
        receiver.abort()
    return receiver.fields


@router.post(
    "",
    status_code=202,
    response_model=Batch,
    summary="upload photos and/or zip archives (multipart, field 'files'); optional place or lat/lon",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "place": {"type": "string", "maxLength": 64},
                            "lat": {"type": "number", "minimum": -90, "maximum": 90},
                            "lon": {"type": "number", "minimum": -180, "maximum": 180},
                        },
                    }
                }
            },
        }
    },
)
async def upload(request: Request, ctx: CtxDep, principal: Ingest) -> Response:
    limit_uploads(request, principal)
    limits: Limits = request.app.state.batch_limits
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_request_bytes:
        return JSONResponse(error_body(413, f"request larger than {limits.max_request_bytes:,} bytes"), 413)
    batch_id = new_batch_id()
    folder = BatchFolder(batch_dir(ctx.settings.data_dir, batch_id), limits)
    try:
        fields = await _receive(request, folder)
        place = fields.get("place") or None
        lat, lon = _float(fields.get("lat"), "lat"), _float(fields.get("lon"), "lon")
        try:
            where = resolve_where(ctx, None, place, lat, lon)
        except ScanError as exc:
            raise UploadError(str(exc), 422) from None
        if not folder.items and not folder.rejected_total:
            raise UploadError("no files in the upload (multipart field 'files')", 422)
    except UploadError as exc:
        folder.discard()
        return JSONResponse(error_body(exc.status, str(exc)), exc.status)
    except ClientDisconnect:
        # The client went away mid-upload (a phone losing its signal): nothing to answer, nothing was kept, and
        # nothing went wrong on this side, so no traceback.
        folder.discard()
        log.warning("upload by %s cut off by the client; nothing kept", principal.name)
        return Response(status_code=400)
    except BaseException:
        folder.discard()
        raise

    def create() -> Batch:
        with ctx.store.transaction() as s:
            batch = batches.create_batch(
                s,
                batch_id,
                folder.items,
                folder.rejected,
                rejected_total=folder.rejected_total,
                actor=principal.name,
                now=ctx.manager.clock(),
                place_id=where.place_id,
                lat=where.lat,
                lon=where.lon,
            )
            return _batch(s, batch)

    body = await run_in_threadpool(create)
    request.app.state.batch_worker.wake()
    return JSONResponse(body.model_dump(mode="json"), 202)


@router.get("", response_model=Page[BatchSummary], summary="photo batches, newest first")
def list_all(
    session: SessionDep,
    _: Ingest,
    limit: Annotated[int, Query(ge=1, le=batches.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page[BatchSummary]:
    rows = batches.list_batches(session, limit=limit, offset=offset)
    total = batches.count_batches(session)
    return Page[BatchSummary](
        items=[BatchSummary.model_validate(b) for b in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{batch_id}", response_model=Batch, summary="progress, per-photo errors and the cases touched")
def get_one(batch_id: str, session: SessionDep, _: Ingest) -> Batch:
    batch = batches.get_batch(session, batch_id)
    if batch is None:
        not_found(f"batch {batch_id[:40]}")
    return _batch(session, batch)


@router.post("/{batch_id}/cancel", response_model=Batch, summary="stop a batch: its pending photos fail as cancelled")
def cancel(batch_id: str, ctx: CtxDep, principal: Staff) -> Batch:
    """Operators stop a batch they no longer want processed (or one stuck behind a fault); audited."""
    with ctx.store.transaction() as session:
        if batches.get_batch(session, batch_id) is None:
            not_found(f"batch {batch_id[:40]}")
        cancelled = batches.cancel_batch(session, batch_id, principal.name, ctx.manager.clock())
        audit.record(session, principal.name, "batch.cancel", f"batch:{batch_id}", {"cancelled": cancelled})
        session.flush()
        session.expire_all()
        body = _batch(session, session.get_one(PhotoBatch, batch_id))
    shutil.rmtree(batch_dir(ctx.settings.data_dir, batch_id), ignore_errors=True)  # nothing will read them now
    return body


@router.get("/{batch_id}/items", response_model=Page[BatchItem], summary="the photos of a batch, in upload order")
def items(
    batch_id: str,
    session: SessionDep,
    _: Ingest,
    state: ItemState | None = None,
    limit: Annotated[int, Query(ge=1, le=batches.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page[BatchItem]:
    batch = batches.get_batch(session, batch_id)
    if batch is None:
        not_found(f"batch {batch_id[:40]}")
    rows = batches.list_items(session, batch_id, state=state, limit=limit, offset=offset)
    total = batch.total if state is None else batches.count_items(session, batch_id, state)
    return Page[BatchItem](items=[BatchItem.model_validate(i) for i in rows], total=total, limit=limit, offset=offset)
