"""Liveness, readiness and the Prometheus scrape endpoint; at the root, unauthenticated (probes and scrapers
carry no credentials), and revealing nothing beyond up/down and counters."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.deps import CtxDep
from service.api.schemas.health import Health, Readiness
from service.store.readiness import store_status

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="the process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready"}},
    summary="the store is reachable and migrated, the model is loaded",
)
async def readyz(request: Request, ctx: CtxDep) -> JSONResponse:
    store = await run_in_threadpool(store_status, ctx.store)
    if not store.reachable:
        log.warning("not ready: database unreachable: %s", store.error)
    model = request.app.state.model_status
    ready = Readiness(
        ready=store.at_head and model.loaded,
        # the error names the database's host and port: the log has it, an anonymous probe does not need it
        database="ok" if store.reachable else "unreachable",
        migrations="at head" if store.at_head else f"at {list(store.current)}, head is {list(store.head)}",
        model="loaded" if model.loaded else model.state,
    )
    return JSONResponse(ready.model_dump(), status_code=200 if ready.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
