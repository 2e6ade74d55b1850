"""Background work of the running service that is not a request: the photo-batch worker, the webhook
dispatcher, the camera streams, and the privacy-safe evidence renditions they and the routes share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from service.batches.ingest import Limits
from service.batches.worker import BatchWorker
from service.cluster.fleet import camera_runner
from service.context import Context
from service.evidence_privacy import PrivateEvidence
from service.integrations.webhooks import WebhookDispatcher


@contextmanager
def background(app: FastAPI, ctx: Context) -> Iterator[None]:
    """Start the workers for the app's lifetime (pending batch photos and deliveries are taken up at once) and
    stop them at shutdown, each finishing the item in hand."""
    app.state.batch_limits = Limits()
    app.state.private_evidence = PrivateEvidence(
        ctx.evidence.read, ctx.settings.data_dir / "evidence-private", lambda: ctx.detector
    )
    app.state.batch_worker = batches = BatchWorker(ctx)
    app.state.webhooks = webhooks = WebhookDispatcher(ctx.store)
    # the detector is loaded on the first frame; site changes reach the cameras through the site registry
    app.state.cameras = ctx.cameras = cameras = camera_runner(ctx, app.state.metrics)  # in this process or on Ray
    batches.start()
    webhooks.start()
    cameras.start()
    ctx.sites.subscribe(cameras.apply)
    try:
        yield
    finally:
        ctx.sites.unsubscribe(cameras.apply)
        cameras.stop()
        webhooks.stop()
        batches.stop()
