"""The FastAPI application: ``create_app`` wires the context, the routers, errors, auth and metrics.

Routers are listed in :data:`ROUTERS` and mounted under ``/api/v1``; a new feature appends its router
module's ``router`` there. Health, readiness and ``/metrics`` are at the root.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response

from service.api import errors
from service.api.auth_first import AuthenticateFirst
from service.api.background import background
from service.api.body_limit import BodyLimit
from service.api.body_timeout import BodyTimeout
from service.api.headers import SecurityHeaders
from service.api.metrics import Metrics
from service.api.routes import (
    auth,
    batches,
    cases,
    evidence,
    exports,
    health,
    observations,
    phones,
    quality,
    reports,
    site,
    streams,
    webhooks,
    workflow,
)
from service.auth.login import LoginLimits
from service.auth.ratelimit import SlidingWindow
from service.auth.users import ensure_first_admin
from service.context import Context, open_context
from service.core.config import Settings
from service.site_editor import SiteEditor
from service.ui import export_words
from service.ui import pages as ui_pages
from service.ui import pages_admin as ui_admin
from service.ui import pages_workflow as ui_pages_workflow
from vision.detector import Detector

API_PREFIX = "/api/v1"
SITE_FILE = "site.yaml"
log = logging.getLogger(__name__)

ROUTERS: list[APIRouter] = [
    auth.router,
    cases.router,
    workflow.router,
    observations.router,
    reports.router,
    quality.router,
    site.router,
    batches.router,
    evidence.router,
    exports.router,
    phones.router,
    webhooks.router,
    streams.router,
]


class ModelStatus:
    """Whether the detector is loaded; it loads in the background so the API answers meanwhile."""

    def __init__(self) -> None:
        self.state = "loading"

    @property
    def loaded(self) -> bool:
        return self.state == "loaded"

    def load(self, ctx: Context) -> None:
        try:
            _ = ctx.detector
        except Exception as exc:  # a bad model file must show in /readyz, not kill the process
            log.exception("cannot load the model")
            self.state = f"error: {exc}"
        else:
            self.state = "loaded"


def create_app(settings: Settings | None = None, *, detector: Detector | None = None) -> FastAPI:
    """The GridWatch API. ``settings`` default to the environment; ``detector``: an already loaded one."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Without GRIDWATCH_SITE, edits made through the API are kept in data_dir/site.yaml and read back here.
        site_file = settings.site or settings.data_dir / SITE_FILE
        with open_context(settings, site=site_file if site_file.exists() else None, detector=detector) as ctx:
            with ctx.store.transaction() as session:
                password = settings.admin_password
                first = ensure_first_admin(session, password.get_secret_value() if password else None)
            if first.message:
                log.warning("%s", first.message)
            app.state.ctx = ctx
            app.state.site_editor = SiteEditor(ctx, site_file)
            app.state.model_status = status = ModelStatus()
            app.state.model_load = threading.Thread(target=status.load, args=(ctx,), name="model-load", daemon=True)
            app.state.model_load.start()
            with background(app, ctx):
                yield

    app = FastAPI(
        title="GridWatch",
        version="1",
        summary="Urban-management violations from camera streams and patrol photos, as cases.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI is served from the package by service.ui.pages.api_docs (works offline)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.export_words = export_words.localise  # the export routes' words (the API does not import the UI)
    app.state.metrics = Metrics()
    app.state.login_limits = LoginLimits.standard()
    limit = settings.upload_rate_limit
    app.state.upload_limits = SlidingWindow(limit, settings.upload_rate_window_s) if limit else None
    errors.install(app)
    # Added last runs first: the size and time checks wrap the authentication, which runs before any route reads a
    # body; an unexpected error of any of them is the JSON 500 and keeps the connection, with the security headers.
    app.add_middleware(AuthenticateFirst)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(BodyTimeout, seconds=settings.body_timeout_s)
    app.add_middleware(errors.CatchUnexpected)
    app.add_middleware(SecurityHeaders, hsts_seconds=settings.hsts_seconds)
    _count_requests(app)
    app.include_router(health.router)
    app.include_router(ui_pages.router)  # the operator web UI at /
    app.include_router(ui_pages_workflow.router)  # its workflow screens (requests, intake, quality, users)
    app.include_router(ui_admin.router)  # its admin screens at /admin/ (exports, uploads, tokens, audit...)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    return app


def _count_requests(app: FastAPI) -> None:
    """HTTP request counts and latency per route template (not per raw path: ids would explode the labels)."""
    metrics: Metrics = app.state.metrics

    @app.middleware("http")
    async def _observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        metrics.http_requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.http_latency.labels(request.method, route).observe(time.perf_counter() - start)
        return response


def _route_template(request: Request) -> str:
    """The matched route's full path template, prefix included: FastAPI >= 0.16x includes routers lazily and
    keeps the prefixed template in its effective route context; earlier versions copy prefixed routes."""
    effective = request.scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else "<unmatched>"
