"""The operator web UI in headless Chromium against the real service: uvicorn on a local port, a SQLite store,
cases opened by scanning the real sample photos (each at its own patrol place with a full-frame no-parking zone).

Covers signing in, the review queue (evidence with boxes, keyboard verdicts, bulk filing), a case's whole life on
its detail page (file, dispatch, handling photo, verify, close), the zone editor saving a drawn polygon, the
dashboard's charts, a unit handler's limited view and the Chinese labels. Screenshots: ``tests/artifacts/ui/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr
from sqlalchemy import select

from domain.lifecycle import Action, CaseState
from service.app import create_app
from service.auth import tokens
from service.auth.users import create_user, get_user
from service.cases.sightings import Outcome
from service.context import Context
from service.core.config import Settings
from service.core.site import Place, Zone, dump_site, load_site
from service.scan import scan
from service.store.evidence import EvidenceInput
from service.store.models import Case, CasePhone, EvidenceKind, EvidenceLink, Observation, Role, Verdict
from service.ui import queries as ui_queries
from service.ui.i18n import label_name
from service.ui.notes import stream_error
from tests.conftest import ROOT, SAMPLES
from tests.live_ui import chromium, eventually, login, serve, shot
from vision.detector import Detector

PASSWORD = "ui-test-passw0rd"
PHOTOS = sorted(SAMPLES.glob("*.jpg"))
SOUTH, NORTH = "hepingli-south", "hepingli-north"
USERS = {"admin": (Role.ADMIN, []), "operator": (Role.OPERATOR, []), "north": (Role.UNIT_HANDLER, [NORTH])}
SEEN = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 at the test site (Asia/Shanghai)
WHOLE = Zone(id="whole-photo", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])


def place_id(index: int) -> str:
    return f"spot-{index}"


def write_site(path: Path) -> Path:
    """The example site with one patrol place per sample photo, ~110 m apart, grids alternating south/north;
    its cameras disabled (their addresses do not exist here), so camera pages show no frame."""
    cfg = load_site(ROOT / "docs" / "site.example.yaml")
    places = [
        Place(
            id=place_id(i),
            name=f"Spot {i} ({photo.stem})",
            grid=SOUTH if i % 2 == 0 else NORTH,
            lat=39.9610 + 0.001 * i,
            lon=116.4150,
            radius_m=40,
            zones=[WHOLE],
        )
        for i, photo in enumerate(PHOTOS)
    ]
    cameras = [c.model_copy(update={"enabled": False}) for c in cfg.cameras]
    dump_site(cfg.model_copy(update={"places": places, "cameras": cameras}), path)
    return path


@dataclass
class Ui:
    """The running service, its browser, and store-side helpers for setting up and checking."""

    app: FastAPI
    base: str
    browser: Browser

    @property
    def ctx(self) -> Context:
        ctx: Context = self.app.state.ctx
        return ctx

    def case(self, case_id: int) -> Case:
        with self.ctx.store.session() as session:
            return session.get_one(Case, case_id)

    def pending(self) -> list[Case]:
        with self.ctx.store.session() as session:
            query = select(Case).where(Case.state == CaseState.PENDING_REVIEW).order_by(Case.id.desc())
            return list(session.scalars(query))

    def api(self, user: str) -> httpx.Client:
        """An API client with a fresh session token of ``user``."""
        with self.ctx.store.transaction() as session:
            found = get_user(session, user)
            assert found is not None
            token = tokens.issue_session(session, found, timedelta(hours=1)).value
        return httpx.Client(base_url=f"{self.base}/api/v1", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> Iterator[Ui]:
    tmp = tmp_path_factory.mktemp("ui")
    site = write_site(tmp / "site.yaml")
    settings = Settings(data_dir=tmp / "data", site=site, model=detector.path, admin_password=SecretStr(PASSWORD))
    app = create_app(settings, detector=detector)
    with serve(app) as base, chromium() as browser:
        ctx: Context = app.state.ctx
        with ctx.store.transaction() as session:
            for name, (role, grids) in USERS.items():
                if get_user(session, name) is None:  # admin: made at start-up with the password above
                    create_user(session, name, role, PASSWORD, grids)
        for i, photo in enumerate(PHOTOS):
            scan([photo], ctx, place=place_id(i))
        yield Ui(app, base, browser)


@pytest.fixture
def page(ui: Ui) -> Iterator[Page]:
    """A fresh browser profile (no cookies) that prefers English."""
    context = ui.browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def queue_ids(page: Page) -> list[int]:
    shown = page.locator(".review-item:not([hidden])")
    return [int(v) for v in shown.evaluate_all("items => items.map(i => i.dataset.case)")]


def test_login_then_review_queue_shows_evidence_with_boxes(ui: Ui, page: Page) -> None:
    page.goto(f"{ui.base}/cases")
    assert "/login?next=/cases" in page.url  # not signed in: the login page, which leads back
    page.fill("#username", "operator")
    page.fill("#password", "wrong-password")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Wrong user name or password")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{ui.base}/cases")

    page.goto(f"{ui.base}/review")
    pending = ui.pending()
    assert len(pending) >= 6 and queue_ids(page) == [c.id for c in pending]
    first = page.locator(".review-item").first
    image = first.locator(".evidence img").first
    expect(image).to_be_visible()
    image.evaluate("img => img.decode()")  # the privacy-filtered picture from the evidence API loads
    assert image.evaluate("img => img.naturalWidth") > 0
    box = first.locator("svg.boxes rect")
    x1, y1, x2, _ = pending[0].bbox
    assert float(box.get_attribute("x") or "nan") == pytest.approx(x1)
    assert float(box.get_attribute("y") or "nan") == pytest.approx(y1)
    assert float(box.get_attribute("width") or "nan") == pytest.approx(x2 - x1)
    assert first.evaluate("item => item === document.activeElement")  # keyboard-ready on the first case
    shot(page, "review-queue")


def test_review_keyboard_file_reject_relabel(ui: Ui, page: Page) -> None:
    login(page, ui.base, "operator", PASSWORD)
    first, second, third = queue_ids(page)[:3]
    page.keyboard.press("f")  # 立案: hidden at once, sent once the undo time is up
    expect(page.locator(f"#case-{first}")).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.case") == str(second)
    page.keyboard.press("r")  # 不予立案 ends the case: asked first
    page.locator("#confirm-reject button[value=reject]").click()
    expect(page.locator(f"#case-{second}")).to_be_hidden()

    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")  # the second listed case now
    assert page.evaluate("document.activeElement.dataset.case") == str(queue_ids(page)[1])
    page.keyboard.press("k")
    page.keyboard.press("l")  # to the relabel choice of the first listed case
    relabel = page.locator(f"#relabel-{third}")
    expect(relabel).to_be_focused()
    relabel.select_option("non_motor_parking")
    page.keyboard.press("Enter")
    expect(page.locator(f"#case-{third}")).to_be_hidden()
    eventually(lambda: (ui.case(first).state, ui.case(second).state) == (CaseState.FILED, CaseState.REJECTED))
    eventually(lambda: ui.case(third).violation == "non_motor_parking")
    relabelled = ui.case(third)
    assert (relabelled.state, relabelled.event_code) == ("pending_review", "09010")
    with ui.ctx.store.session() as session:
        verdicts = {v.case_id: v.verdict for v in session.scalars(select(Verdict))}
    assert (verdicts[first], verdicts[second], verdicts[third]) == ("confirm", "reject", "relabel")
    expect(page.locator(f"#case-{third}")).to_be_visible()  # the queue came back without a reload: still pending
    shot(page, "review-after-keyboard")


def test_review_bulk_file(ui: Ui, page: Page) -> None:
    login(page, ui.base, "operator", PASSWORD)
    chosen = queue_ids(page)[:2]
    page.keyboard.press("x")  # tick the current case by keyboard, the next one with the mouse
    page.locator(f"#select-{chosen[1]}").check()
    shot(page, "review-bulk-selected")
    page.click("[data-bulk=file]")
    eventually(lambda: [ui.case(c).state for c in chosen] == [CaseState.FILED, CaseState.FILED])
    expect(page.locator(f"#case-{chosen[0]}")).to_have_count(0)  # refilled: gone from the queue


def act(page: Page, action: str) -> None:
    """Submit a case page's action form and wait for the page to come back with the new state."""
    with page.expect_navigation():
        page.locator(f"#form-{action} button[type=submit]").click()


def test_case_detail_moves_a_case_to_closed(ui: Ui, page: Page, tmp_path: Path) -> None:
    login(page, ui.base, "operator", PASSWORD)
    case = ui.pending()[-1]
    page.goto(f"{ui.base}/cases/{case.id}")
    assert page.locator("form.action").evaluate_all("fs => fs.map(f => f.dataset.action)") == ["file", "reject"]
    act(page, "file")
    page.fill("#dispatch-note", "please clear the lane")
    act(page, "dispatch")
    expect(page.locator("#case-state")).to_have_text("dispatched")
    assert ui.case(case.id).deadline_at is not None  # the clock started
    shot(page, "case-dispatched")

    photo = tmp_path / "handled.jpg"
    Image.new("RGB", (320, 240), (90, 120, 90)).save(photo)  # the place, cleared
    page.set_input_files("#handle-photo", str(photo))
    act(page, "handle")
    expect(page.locator("#evidence-handling img")).to_have_count(1)
    expect(page.locator("#evidence-after img")).to_have_count(1)  # 整改后: the unit's photo, not 暂无
    expect(page.locator("#evidence-before img")).to_have_count(1)  # 整改前: the violation as found
    with ui.ctx.store.session() as session:
        originals = session.scalars(
            select(EvidenceLink.sha256).where(
                EvidenceLink.case_id == case.id, EvidenceLink.role == "sighting", EvidenceLink.kind == "original"
            )
        ).all()
    assert originals and page.locator("#filmstrip img").count() == len(originals)  # every sighting's photo
    act(page, "verify")
    act(page, "close")
    expect(page.locator("#case-state")).to_have_text("closed")
    expect(page.locator("form.action")).to_have_count(0)  # terminal: no action left
    steps = page.locator("#timeline li strong").all_inner_texts()
    assert steps == ["Opened", "File", "Dispatch", "Report handled", "Verify", "Close"]
    assert "please clear the lane" in page.locator("#timeline").inner_text()
    closed = ui.case(case.id)
    assert closed.state == CaseState.CLOSED and closed.closed_at is not None
    shot(page, "case-closed")


def test_zone_editor_saves_a_drawn_polygon(ui: Ui, page: Page) -> None:
    login(page, ui.base, "admin", PASSWORD)
    page.goto(f"{ui.base}/cameras/south-bins")
    expect(page.locator("#zone-list li")).to_have_count(3)  # the example camera's zones
    page.click("#zone-new")
    svg = page.locator("#zone-svg").bounding_box()
    assert svg is not None
    corners = [(0.2, 0.3), (0.6, 0.3), (0.7, 0.8), (0.25, 0.75)]
    for x, y in [*corners, corners[0]]:  # back on the first point closes it
        page.mouse.click(svg["x"] + x * svg["width"], svg["y"] + y * svg["height"])
    new = page.locator("#zone-list li").last
    new.locator("input").fill("drawn-no-parking")
    new.locator("input").dispatch_event("change")
    new.locator("select").select_option("no_parking")
    page.click("#zone-save")
    expect(page.locator("#status")).to_have_text("Saved")
    shot(page, "zone-editor")

    with ui.api("admin") as api:
        camera = api.get("/site/cameras/south-bins").raise_for_status().json()
    zones = {z["id"]: z for z in camera["zones"]}
    assert set(zones) == {"bin-point", "lane-wall", "night-no-parking", "drawn-no-parking"}
    drawn = zones["drawn-no-parking"]
    assert drawn["kind"] == "no_parking"
    assert drawn["polygon"] == [[pytest.approx(x, abs=0.01), pytest.approx(y, abs=0.01)] for x, y in corners]
    assert zones["night-no-parking"]["active"]  # untouched zones keep their time windows


def close_case(ctx: Context, case_id: int) -> None:
    """Set-up: take a case through its life with the case manager (the UI path is tested above)."""
    photo = EvidenceInput(EvidenceKind.ORIGINAL, PHOTOS[0].read_bytes(), "jpg")
    for action in (Action.FILE, Action.DISPATCH, Action.HANDLE, Action.VERIFY, Action.CLOSE):
        ctx.manager.act(case_id, action, actor="setup", evidence=[photo] if action is Action.HANDLE else ())


def test_dashboard_charts_and_recurrence(ui: Ui, page: Page, tmp_path: Path) -> None:
    case = ui.pending()[0]
    close_case(ui.ctx, case.id)
    index = int((case.place_id or "").removeprefix("spot-"))
    again = tmp_path / "again.jpg"  # the same spot photographed again: other bytes, same scene
    Image.open(PHOTOS[index]).save(again, quality=85)
    report = scan([again], ui.ctx, place=case.place_id)
    assert report.outcomes[Outcome.RECURRED] >= 1

    login(page, ui.base, "operator", PASSWORD)
    page.goto(f"{ui.base}/dashboard")
    assert page.locator("#per-week svg.chart.bars rect[fill]").count() >= 2  # stacked bars and their legend
    expect(page.locator("#kpis ul.rates")).to_be_visible()  # HTML bars: their labels are page text
    expect(page.locator("#kpis")).to_contain_text("On-time closure rate")
    with ui.ctx.store.session() as session:
        grid = ui_queries.site_names(session).grid(ui.case(case.id).grid_id)  # rows name their grid
    row = page.locator("#heat table.heat tbody tr", has_text=grid)
    assert row.locator("td").all_inner_texts()[-1] == "1"  # this week's recurrence in that grid
    expect(page.locator("#heat svg.chart.map circle")).to_have_count(1)
    expect(page.locator("#ranking")).to_be_visible()
    expect(page.locator("#site-map path.map-places")).to_have_count(len(PHOTOS))  # Leaflet, from the package
    assert page.locator("#site-map path.map-cases").count() >= 1  # the open cases where they are
    expect(page.locator("#site-map .leaflet-tile")).to_have_count(0)  # no tile server: nothing from outside
    shot(page, "dashboard")


def test_unit_handler_sees_only_its_units_cases(ui: Ui, page: Page) -> None:
    pending = Case.state == CaseState.PENDING_REVIEW
    with ui.ctx.store.session() as session:
        north, south = (
            session.scalars(select(Case.id).where(Case.grid_id == grid, pending).order_by(Case.id)).first()
            for grid in (NORTH, SOUTH)
        )
    assert north is not None and south is not None
    for case_id in (north, south):  # only cases the centre confirmed and dispatched reach a unit
        for action in (Action.FILE, Action.DISPATCH):
            ui.ctx.manager.act(case_id, action, actor="operator")
    login(page, ui.base, "north", PASSWORD, lands_on="/cases")
    grids = page.locator("table.cases tbody tr td:nth-child(4)").all_inner_texts()
    assert grids and set(grids) == {"North courtyards, buildings 1-8 (北院)"}  # by name
    page.goto(f"{ui.base}/review")
    assert page.url == f"{ui.base}/cases"  # review is the centre's job
    response = page.goto(f"{ui.base}/cases/{south}")
    assert response is not None and response.status == 404
    shot(page, "unit-handler-cases")


def test_case_list_filters_and_chinese_labels(ui: Ui, page: Page) -> None:
    login(page, ui.base, "operator", PASSWORD)
    page.goto(f"{ui.base}/cases")
    page.select_option("select[name=state]", "filed")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    states = page.locator("table.cases tbody .badge").all_inner_texts()
    assert states and set(states) == {"filed"}

    page.click("#lang-switch")
    page.wait_for_url("**lang=zh**")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("header nav")).to_contain_text("审核队列")
    expect(page.locator("table.cases tbody")).to_contain_text("已立案")
    page.goto(f"{ui.base}/dashboard")  # the choice is remembered
    expect(page.locator("h1")).to_have_text("统计")
    expect(page.locator("#per-week")).to_contain_text("09009 机动车乱停放")
    shot(page, "dashboard-zh")


def test_case_and_camera_pages_in_chinese(ui: Ui, page: Page) -> None:
    """Issue 18.4: a verdict's log note and the detector label on the case page, a camera's state and its errors
    on the camera page, in Chinese (the same errors through camera.js's patterns as through notes.py's)."""
    case = ui.pending()[0]
    with ui.api("operator") as api:
        assert api.post(f"/cases/{case.id}/verdicts", json={"verdict": "confirm"}).status_code < 300
    login(page, ui.base, "operator", PASSWORD)
    page.goto(f"{ui.base}/cases/{case.id}?lang=zh")
    timeline = page.locator("#timeline").inner_text()
    assert "确认" in timeline and "confirm" not in timeline
    confidence = page.locator("dt:has-text('置信度') + dd").inner_text()
    assert label_name("zh", case.label) in confidence and case.label not in confidence
    assert "hepingli" not in page.locator(".facts").inner_text()  # grid and unit by name
    shot(page, "case-notes-zh")

    page.goto(f"{ui.base}/cameras/south-bins")  # the language is remembered
    status = page.locator(".camera-status")
    expect(status).to_contain_text("帧/秒")
    expect(status).to_contain_text("离线")  # the test site's cameras are disabled
    errors = ["stream ended or read timed out", "no usable frame for 5 s", "reader failed: OSError: x", "new"]
    assert [page.evaluate("e => said(e)", e) for e in errors] == [stream_error("zh", e) for e in errors]
    assert page.locator("main").inner_text().count("hepingli") == 0  # the grid by name


def test_case_page_shows_the_phones_read_on_its_posters(ui: Ui, page: Page) -> None:
    """Issue 18.3: the numbers read on a flyposting case's posters, with the line each was read in, on its page
    (stored as the scan stores them: one row per sighting and number)."""
    with ui.ctx.store.transaction() as session:
        case, other = session.scalars(select(Case).order_by(Case.id).limit(2)).all()  # any two (earlier tests act)
        observation = session.scalars(select(Observation.id).where(Observation.case_id == case.id)).first()
        assert observation is not None
        for number, kind, text in [
            ("13812345678", "mobile", "专业开锁 13812345678"),
            ("010-62345678", "landline", "办证 010-62345678"),
        ]:
            session.add(
                CasePhone(
                    case_id=case.id, observation_id=observation, number=number, kind=kind, text=text, seen_at=SEEN
                )
            )
        session.get_one(Observation, observation).text = "专业开锁 换锁\n疏通管道 上门服务"
    login(page, ui.base, "operator", PASSWORD)
    page.goto(f"{ui.base}/cases/{case.id}?lang=zh")
    expect(page.locator("#poster-texts blockquote")).to_have_text("专业开锁 换锁\n疏通管道 上门服务")  # the whole text
    rows = page.locator("#phones tbody tr").all_inner_texts()
    assert len(rows) == 2 and "13812345678 (手机)" in rows[0] and "专业开锁 13812345678" in rows[0]
    assert "010-62345678 (固定电话)" in rows[1] and "2026-03-02 09:00" in rows[1]  # the site's time
    expect(page.locator("#poster-h")).to_have_text("小广告内容与电话")
    shot(page, "case-phones-zh")
    page.goto(f"{ui.base}/cases/{other.id}")
    expect(page.locator("#phones")).to_have_count(0)  # no number read: no section
    expect(page.locator("#poster-texts")).to_have_count(0)
