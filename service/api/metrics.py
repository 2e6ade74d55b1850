"""Prometheus metrics of one running app, in a registry of its own (tests build many apps side by side).

Workers reach them as ``app.state.metrics`` (:class:`Metrics`), e.g.
``metrics.frames_read.labels(camera="north-gate").inc()``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Inference of a batch on 2 CPU cores takes tens to hundreds of ms; a GPU batch a few ms.
_INFERENCE_BUCKETS_MS = (2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric GridWatch exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.frames_read = Counter("gridwatch_frames_read", "Frames read from a camera", ["camera"], registry=r)
        self.frames_dropped = Counter(
            "gridwatch_frames_dropped", "Frames dropped (back-pressure or motion gating)", ["camera"], registry=r
        )
        self.inference_ms = Histogram(
            "gridwatch_inference_ms", "Detector time per batch, milliseconds", buckets=_INFERENCE_BUCKETS_MS, registry=r
        )
        self.queue_depth = Gauge("gridwatch_queue_depth", "Frames waiting for the detector", ["camera"], registry=r)
        self.cases_opened = Counter("gridwatch_cases_opened", "Cases opened", ["violation"], registry=r)
        self.http_requests = Counter(
            "gridwatch_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "gridwatch_http_request_seconds",
            "HTTP request latency, seconds",
            ["method", "route"],
            buckets=_HTTP_BUCKETS_S,
            registry=r,
        )

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
