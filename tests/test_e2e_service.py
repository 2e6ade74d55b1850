"""Issue 5's end-to-end test: the whole service as operators use it.

Start the service (uvicorn, SQLite), stream the real car-park video over RTSP into a camera with a full-frame
no-parking zone and a short dwell, upload a zip of the real sample photos through the batch API, see the cases in
the API and in the web UI, review them in headless Chromium and move the camera's case to closed. Screenshots are
kept in ``tests/artifacts/ui/e2e-*.png``.
"""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import expect

from service.app import create_app
from service.auth import tokens
from service.auth.users import create_user
from service.core.config import Settings
from service.core.site import Camera, Grid, Place, SiteConfig, Unit, Zone, dump_site
from service.store.models import Role
from tests.conftest import SAMPLES
from tests.live_ui import chromium, login, serve, shot
from tests.stream_fixtures import RtspServer, wait_for
from vision.detector import Detector
from vision.rules.config import ParkingRule, RulesConfig

pytest_plugins = ["tests.stream_fixtures"]

PASSWORD = "e2e-passw0rd"
WHOLE = Zone(id="whole", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
# A car that stays still for a second counts as parked: the clip is short, the rule is what is under test elsewhere.
RULES = RulesConfig(parking=ParkingRule(dwell_s=1.0, iou=0.1, gap_s=5.0))


def site(rtsp_url: str) -> SiteConfig:
    return SiteConfig(
        units=[Unit(id="wardens", name="Car-park wardens")],
        grids=[Grid(id="carpark", name="Car park", unit="wardens")],
        cameras=[Camera(id="gate", name="Car park gate", source=rtsp_url, grid="carpark", sample_fps=4, zones=[WHOLE])],
        places=[Place(id="yard", name="Yard", grid="carpark", lat=39.9612, lon=116.416, radius_m=40, zones=[WHOLE])],
        rules=RULES,
    )


def sample_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for photo in sorted(SAMPLES.glob("*.jpg")):
            archive.write(photo, f"patrol/{photo.name}")
    return buffer.getvalue()


def test_streams_batches_review_and_closure(rtsp_server: RtspServer, tmp_path: Path, detector: Detector) -> None:
    site_file = tmp_path / "site.yaml"
    dump_site(site(rtsp_server.url), site_file)
    app = create_app(Settings(data_dir=tmp_path / "data", site=site_file, model=detector.path), detector=detector)
    with serve(app) as base, chromium() as browser:
        ctx = app.state.ctx
        with ctx.store.transaction() as session:
            operator = create_user(session, "operator", Role.OPERATOR, PASSWORD)
            token = tokens.issue_session(session, operator, timedelta(hours=1)).value
        api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60)

        # Patrol photos: one zip through the batch API, processed in the background.
        upload = api.post(
            "/batches", files={"files": ("patrol.zip", sample_zip(), "application/zip")}, data={"place": "yard"}
        )
        assert upload.status_code == 202, upload.text
        batch_id = upload.json()["id"]

        def batch() -> dict[str, Any]:
            body: dict[str, Any] = api.get(f"/batches/{batch_id}").raise_for_status().json()
            return body

        wait_for(lambda: batch()["state"] == "done", 180, "the photo batch processed", interval=0.5)
        done = batch()
        assert done["processed"] == done["total"] == len(list(SAMPLES.glob("*.jpg"))) and done["opened"] >= 1

        # The camera: the RTSP stream read, a parked car found, a case opened.
        def camera_cases() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (
                api.get("/cases", params={"camera": "gate"}).raise_for_status().json()["items"]
            )
            return items

        wait_for(lambda: len(camera_cases()) > 0, 180, "a parking case from the RTSP camera", interval=0.5)
        status = api.get("/cameras/gate/status").raise_for_status().json()
        assert status["state"] == "online" and status["frames_detected"] > 0
        camera_case = camera_cases()[-1]
        photo_cases = api.get("/cases", params={"place": "yard"}).raise_for_status().json()["items"]
        assert camera_case["violation"] == "motor_parking" and photo_cases

        page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(30_000)
        login(page, base, "operator", PASSWORD)
        queued = page.locator(".review-item").evaluate_all("items => items.map(i => Number(i.dataset.case))")
        assert camera_case["id"] in queued and {c["id"] for c in photo_cases} <= set(queued)
        expect(page.locator(f"#case-{camera_case['id']}")).to_contain_text("Camera Car park gate")  # by name
        shot(page, "e2e-review-queue")

        page.goto(f"{base}/cameras/gate")
        snapshot = page.locator("#snapshot")
        expect(snapshot).to_be_visible()  # the live frame arrived through the snapshot API
        expect(page.locator("[data-camera-status=gate]")).to_have_attribute("data-state", "online")
        shot(page, "e2e-camera")

        # Review: the camera's case filed and a photo case rejected from the queue, by keyboard.
        page.goto(f"{base}/review")
        rejected = next(c["id"] for c in photo_cases if c["id"] != camera_case["id"])
        # Decisions are sent without a reload once their undo time has passed; 不予立案 is confirmed first.
        for case_id, key in ((camera_case["id"], "f"), (rejected, "r")):
            page.locator(f"#case-{case_id}").click(position={"x": 5, "y": 5})
            page.keyboard.press(key)
            if key == "r":
                page.locator("#confirm-reject button[value=reject]").click()
            expect(page.locator(f"#case-{case_id}")).to_be_hidden()
        want = {camera_case["id"]: "filed", rejected: "rejected"}
        for _ in range(120):  # the undo time (6 s) ends, then both decisions go out; a busy machine may take longer
            page.wait_for_timeout(500)
            if all(api.get(f"/cases/{case_id}").json()["state"] == s for case_id, s in want.items()):
                break
        assert {case_id: api.get(f"/cases/{case_id}").json()["state"] for case_id in want} == want

        # The camera's case through its life on its page: 派遣, 处置 (photo), 核查, 结案.
        page.goto(f"{base}/cases/{camera_case['id']}")
        handled = tmp_path / "handled.jpg"
        Image.new("RGB", (320, 240), (80, 80, 80)).save(handled)
        for action in ("dispatch", "handle", "verify", "close"):
            if action == "handle":
                page.set_input_files("#handle-photo", str(handled))
            with page.expect_navigation():
                page.locator(f"#form-{action} button[type=submit]").click()
        expect(page.locator("#case-state")).to_have_text("closed")
        shot(page, "e2e-case-closed")

        final = api.get(f"/cases/{camera_case['id']}").raise_for_status().json()
        assert final["state"] == "closed" and final["unit_id"] == "wardens"
        lifecycle = {"file", "dispatch", "handle", "verify", "close"}  # the stream may add sightings meanwhile
        steps = [e["action"] for e in final["events"] if e["action"] in lifecycle]
        assert steps == ["file", "dispatch", "handle", "verify", "close"]
        assert api.get(f"/cases/{rejected}").json()["state"] == "rejected"
        page.goto(f"{base}/cases?state=closed")
        expect(page.locator("table.cases tbody")).to_contain_text(f"#{camera_case['id']}")
        shot(page, "e2e-cases-closed")
        api.close()
