"""Liveness, readiness (database, migrations, model) and the Prometheus exposition."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.core.config import Settings
from service.store.db import open_store, upgrade
from service.store.readiness import store_status
from tests.api_fixtures import Api
from vision.detector import Detector

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": "ok", "migrations": "at head", "model": "loaded"}


def test_readiness_fails_without_the_database_or_the_model(tmp_path: Path, detector: Detector) -> None:
    missing_model = Settings(data_dir=tmp_path, model=tmp_path / "missing.onnx")
    app = create_app(missing_model)
    with TestClient(app) as client:
        app.state.model_load.join(timeout=30)
        body = client.get("/readyz")
        assert body.status_code == 503 and body.json()["model"].startswith("error:")
    app = create_app(Settings(data_dir=tmp_path, model=detector.path), detector=detector)
    with TestClient(app) as client:
        app.state.ctx.store.dispose()
        app.state.ctx.store = open_store("postgresql+psycopg://postgres@127.0.0.1:1/none", migrate=False)
        down = client.get("/readyz")
        assert down.status_code == 503 and down.json()["database"].startswith("unreachable")
        assert client.get("/healthz").status_code == 200  # the process is still up


def test_store_status_sees_an_old_schema(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'old.db'}", migrate=False)
    upgrade(store.engine, "0001")
    status = store_status(store)
    assert status.reachable and not status.at_head and status.current == ("0001",)
    upgrade(store.engine)
    assert store_status(store).at_head
    store.dispose()


def test_metrics_exposition_parses_and_counts_requests(api: Api) -> None:
    api.client.get("/healthz")
    api.client.get("/api/v1/cases/12345", headers=api.as_("viewer"))
    metrics = api.app.state.metrics
    metrics.frames_read.labels(camera="cam-1").inc(3)
    metrics.inference_ms.observe(42.0)
    families = {f.name: f for f in text_string_to_metric_families(api.client.get("/metrics").text)}
    assert {
        "gridwatch_frames_read",
        "gridwatch_frames_dropped",
        "gridwatch_inference_ms",
        "gridwatch_queue_depth",
    } <= set(families)
    assert {"gridwatch_cases_opened", "gridwatch_http_requests", "gridwatch_http_request_seconds"} <= set(families)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("gridwatch_frames_read_total", (("camera", "cam-1"),))] == 3
    miss = (
        "gridwatch_http_requests_total",
        (("method", "GET"), ("route", "/api/v1/cases/{case_id}"), ("status", "404")),
    )
    assert samples[miss] >= 1
    assert samples[("gridwatch_inference_ms_count", ())] >= 1
