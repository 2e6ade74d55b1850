"""The attacks on camera configuration that the independent attack found (issue 14): credentials in a camera URL's
query or as token-only user information leaking through the site list, camera status and the log, the site list
showing every grid's cameras to unit handlers, and an invalid URL that passed validation and killed its reader.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import cv2
import pytest

from tests.api_fixtures import Api
from vision.stream.reader import ReaderSettings, StreamReader, StreamState, redact_source

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]

SECRET = "Zq7SECRETx9"
LEAKY = {
    "cam-query": f"http://127.0.0.1:9/video.cgi?user=admin&pwd={SECRET}&channel=1",
    "cam-token": f"rtsp://{SECRET}@127.0.0.1:9/live",
    "cam-userinfo": f"rtsps://admin:{SECRET}@127.0.0.1:9/live",
}


@pytest.mark.parametrize("url", [*LEAKY.values(), f"rtsp://u:{SECRET}@[::1/x", f"rtsp://u:{SECRET}@h:99999/x"])
def test_every_url_form_is_redacted(url: str) -> None:
    assert SECRET not in redact_source(url)


@pytest.fixture(scope="module")
def leaky_cameras(api: Api) -> Iterator[None]:
    admin = api.as_("admin")
    for cid, url in LEAKY.items():
        body = {"id": cid, "name": cid, "source": url, "grid": "g-east"}
        response = api.client.put(f"/api/v1/site/cameras/{cid}", headers=admin, json=body)
        assert response.status_code in (200, 201), response.text
    yield
    for cid in LEAKY:
        api.client.delete(f"/api/v1/site/cameras/{cid}", headers=admin)


def test_no_camera_secret_in_any_response_or_log_line(
    api: Api, leaky_cameras: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    deadline = time.monotonic() + 20  # until each reader has failed to connect once and says why
    answers: list[Any] = []
    while time.monotonic() < deadline:
        status = api.client.get("/api/v1/cameras/status", headers=api.as_("operator")).json()
        if all(s["last_error"] for s in status if s["id"] in LEAKY):
            break
        time.sleep(0.3)
    for who in ("operator", "viewer", "handler_east"):
        headers = api.as_(who)
        answers += [
            api.client.get("/api/v1/site/cameras", headers=headers).text,
            api.client.get("/api/v1/cameras/status", headers=headers).text,
            *(api.client.get(f"/api/v1/cameras/{cid}/status", headers=headers).text for cid in LEAKY),
            *(api.client.get(f"/api/v1/site/cameras/{cid}", headers=headers).text for cid in LEAKY),
        ]
    assert "cam-query" in answers[0] and "user=***" in answers[0]
    leaks = [a for a in answers if SECRET in a]
    assert not leaks, leaks[:1]
    assert SECRET not in caplog.text


def test_a_unit_handler_lists_only_its_own_grids_cameras(api: Api, leaky_cameras: None) -> None:
    west = api.client.get("/api/v1/site/cameras", headers=api.as_("handler_west")).json()
    assert {c["grid"] for c in west} == {"g-west"}
    hidden = api.client.get("/api/v1/site/cameras/cam-query", headers=api.as_("handler_west"))
    assert hidden.status_code == 404


@pytest.mark.parametrize("url", ["rtsp://u:p@127.0.0.1:99999/x", "rtsp://u:p@[::1/x", "rtsp://u:p@/x", "rtsp://a b/x"])
def test_an_invalid_camera_url_is_refused_and_status_keeps_working(api: Api, url: str) -> None:
    body = {"id": "cam-bad", "name": "bad", "source": url, "grid": "g-east"}
    response = api.client.put("/api/v1/site/cameras/cam-bad", headers=api.as_("admin"), json=body)
    assert response.status_code == 422, response.text
    assert "u:p@" not in response.text
    assert api.client.get("/api/v1/cameras/status", headers=api.as_("operator")).status_code == 200


def test_a_reader_that_hits_an_unexpected_error_says_so_and_keeps_trying(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError(f"driver blew up on rtsp://u:{SECRET}@cam/x")

    monkeypatch.setattr(cv2, "VideoCapture", explode)
    settings = ReaderSettings(backoff_initial_s=0.05)
    reader = StreamReader(f"rtsp://u:{SECRET}@cam/x", 1.0, name="cam-x", settings=settings)
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while reader.status().reconnects < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        status = reader.status()
        assert reader.running and status.reconnects >= 2
        assert status.state is not StreamState.ONLINE and "RuntimeError" in (status.last_error or "")
        assert SECRET not in (status.last_error or "")
    finally:
        reader.stop()
