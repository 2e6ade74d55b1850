# ruff: noqa: RUF001 - Chinese text is written with full-width punctuation
"""The command centre's workflow screens (issue 17) against the real service (uvicorn) on SQLite and PostgreSQL:
the queue of units' 延期 / 缓办 requests, a case filed by hand, a miss reported, the quality page and users & roles.

Each screen: who may open it and who is refused; its forms in headless Chromium change the store (a request
approved, a hotline case filed with its source, a miss recorded, a user created and scoped to a unit); bad input
gives a Chinese error and the form keeps what was typed; the Chinese pages show no English UI words; at 390 px
nothing runs off the side. The site's rows have Chinese names, as a city's would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr
from sqlalchemy import select

from domain.lifecycle import Action
from domain.taxonomy import Violation
from service.app import create_app
from service.auth import tokens
from service.auth.users import create_user, get_user
from service.context import Context
from service.core.config import Settings
from service.core.site import Unit, dump_site
from service.store.models import Case, CaseRequest, MissedReport, Role, User, Verdict
from service.ui.i18n import label_name
from service.ui.queries import weeks_back
from tests.conftest import SAMPLES
from tests.db_fixtures import BACKENDS, SITE, T0, picture, sighting, throwaway_pg_database
from tests.live_ui import chromium, login, serve, shot
from vision.detector import Detector

pytest_plugins = ["tests.db_fixtures"]
_Row = TypeVar("_Row", Case, CaseRequest, MissedReport, User, Verdict)

PASSWORD = "wf-ui-passw0rd"
PHOTO = SAMPLES / "bin_point_street.jpg"
# A city's names: the UI shows them, never the ids. 居委会 is responsible for no grid: cases reach it only when
# the centre dispatches them there, so its handlers are tied to it by their unit.
ZH_SITE = SITE.model_copy(
    update={
        "units": [
            Unit(id="u-east", name="东院物业"),
            Unit(id="u-west", name="西院环卫所"),
            Unit(id="u-committee", name="和平里居委会"),
        ],
        "grids": [
            g.model_copy(update={"name": {"g-east": "东院", "s1": "和平里街道", "g-west": "西院"}[g.id]})
            for g in SITE.grids
        ],
        # disabled: their addresses do not exist here
        "cameras": [
            c.model_copy(update={"name": {"cam-1": "东门", "cam-2": "西巷"}[c.id], "enabled": False})
            for c in SITE.cameras
        ],
        "places": [p.model_copy(update={"name": "菜市场巷口"}) for p in SITE.places],
    }
)
USERS = {
    "admin": (Role.ADMIN, [], None),
    "operator": (Role.OPERATOR, [], None),
    "viewer": (Role.VIEWER, [], None),
    "east": (Role.UNIT_HANDLER, ["g-east"], None),
    "committee": (Role.UNIT_HANDLER, [], "u-committee"),
}


@dataclass
class Wf:
    """The running service, its browser and helpers to set up and check the store."""

    app: FastAPI
    base: str
    browser: Browser
    spot: int = 0

    @property
    def ctx(self) -> Context:
        ctx: Context = self.app.state.ctx
        return ctx

    def client(self, user: str) -> httpx.Client:
        with self.ctx.store.transaction() as session:
            found = get_user(session, user)
            assert found is not None
            token = tokens.issue_session(session, found, timedelta(hours=1)).value
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def dispatched(self, unit_id: str | None = None, camera: str = "cam-1") -> int:
        """A new detection on ``camera`` at a spot no other used, filed and dispatched (to ``unit_id`` or its
        grid's unit)."""
        self.spot += 1
        col, row = self.spot % 5, self.spot // 5 % 5
        bbox = (0.02 + 0.2 * col, 0.02 + 0.2 * row, 0.17 + 0.2 * col, 0.17 + 0.2 * row)
        result = self.ctx.manager.ingest(
            *sighting(Violation.EXPOSED_GARBAGE, camera_id=camera, bbox=bbox, at=T0),
            [picture(f"wf{self.spot}")],
            "m1",
            f"sha-wf-{self.spot}",
        )
        self.ctx.manager.act(result.case.id, Action.FILE, actor="operator")
        self.ctx.manager.act(result.case.id, Action.DISPATCH, actor="operator", unit_id=unit_id)
        return result.case.id

    def get(self, model: type[_Row], **where: object) -> list[_Row]:
        with self.ctx.store.session() as session:
            query = select(model).filter_by(**where)
            return list(session.scalars(query))


def _start(tmp: Path, url: str, detector: Detector) -> Iterator[Wf]:
    site = tmp / "site.yaml"
    dump_site(ZH_SITE, site)
    settings = Settings(
        data_dir=tmp / "data", database_url=url, site=site, model=detector.path, admin_password=SecretStr(PASSWORD)
    )
    app = create_app(settings, detector=detector)
    with serve(app) as base, chromium() as browser:
        ctx: Context = app.state.ctx
        with ctx.store.transaction() as session:
            for name, (role, grids, unit) in USERS.items():
                if get_user(session, name) is None:  # admin: made at start-up with the password above
                    create_user(session, name, role, PASSWORD, grids, unit=unit)
        yield Wf(app, base, browser)


@pytest.fixture(scope="module", params=BACKENDS)
def wf(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> Iterator[Wf]:
    tmp = tmp_path_factory.mktemp(f"wf-{request.param}")
    if request.param == "sqlite":
        yield from _start(tmp, f"sqlite:///{tmp / 'gridwatch.db'}", detector)
        return
    with throwaway_pg_database() as url:
        yield from _start(tmp, url, detector)


@pytest.fixture
def page(wf: Wf) -> Iterator[Page]:
    """A fresh browser profile that prefers Chinese, as the centre's operators do."""
    context = wf.browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


# ---- who may open what ---------------------------------------------------------------------------------

PAGES = ["/requests", "/intake", "/quality/miss", "/quality", "/users"]
ALLOWED = {
    "/requests": {"admin", "operator", "viewer", "east", "committee"},
    "/intake": {"admin", "operator"},
    "/quality/miss": {"admin", "operator"},
    "/quality": {"admin", "operator", "viewer", "east", "committee"},
    "/users": {"admin"},
}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("user", list(USERS))
def test_each_screen_opens_for_its_roles_only(wf: Wf, path: str, user: str) -> None:
    with wf.client(user) as client:
        response = client.get(path, params={"lang": "zh"})
        nav = client.get("/cases", params={"lang": "zh"}).text
    allowed = user in ALLOWED[path]
    assert response.status_code == (200 if allowed else 403), response.text[:300]
    if not allowed:
        assert "您的角色无权使用此页面" in response.text
    assert (f'href="{path}"' in nav) == (allowed and path != "/quality/miss")  # nav links only where usable
    with httpx.Client(base_url=wf.base) as anonymous:
        assert anonymous.get(path).status_code == 303  # not signed in: the login page


class _Text(HTMLParser):
    """The text a person reads on a page: no scripts, styles or the language switch (which names the other)."""

    def __init__(self) -> None:
        super().__init__()
        self.skip: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style") or ("id", "lang-switch") in attrs:
            self.skip.append(tag)
        for name, value in attrs:  # what a person reads or hears from attributes
            if name in ("placeholder", "title", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


# Words that are not English UI text: the product's name, user names (typed by people), units of measure.
NOT_UI = {"GridWatch", "admin", "operator", "viewer", "east", "committee", "MB"}


def visible_text(html: str) -> str:
    reader = _Text()
    reader.feed(html)
    return " ".join(reader.parts)


def english_words(html: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{2,}", visible_text(html))) - NOT_UI


@pytest.mark.parametrize("path", PAGES)
def test_chinese_pages_have_no_english_ui_words(wf: Wf, path: str) -> None:
    case_id = wf.dispatched()
    with wf.client("east") as client:
        asked = {"kind": "extend", "reason": "需要联系环卫车", "deadline": "2030-01-01T10:00:00+08:00"}
        assert client.post(f"/api/v1/cases/{case_id}/requests", json=asked).status_code == 201
    with wf.client("admin") as client:
        miss = {"camera_id": "cam-1", "seen_at": datetime.now(UTC).isoformat(), "violation": "exposed_garbage"}
        assert client.post("/api/v1/quality/misses", json=miss).status_code == 201
        html = client.get(path, params={"lang": "zh"}).text
    assert english_words(html) == set(), path
    shown = visible_text(html)
    assert not [key for key in ("u-east", "g-east", "cam-1", "p-market") if key in shown], path  # names, not ids


# ---- requests ------------------------------------------------------------------------------------------


def test_a_unit_asks_on_the_case_page_and_the_centre_approves_with_another_deadline(wf: Wf, page: Page) -> None:
    case_id = wf.dispatched(unit_id="u-committee")  # a unit that is no grid's: its handler is tied to it
    login(page, wf.base, "committee", PASSWORD, lands_on="/cases")
    page.goto(f"{wf.base}/cases/{case_id}")
    form = page.locator("#form-request_extend")
    form.locator("input[name=deadline]").fill("2030-01-01T10:00")
    form.locator("textarea").fill("需要协调物业")
    with page.expect_navigation():  # the page reloads once the API has the request: only then go on
        form.locator("button[type=submit]").click()
    page.goto(f"{wf.base}/requests")
    expect(page.locator("#pending .wf-request")).to_have_count(1)  # the unit's own request, no decision buttons
    expect(page.locator("#pending form.decide")).to_have_count(0)

    page.context.clear_cookies()
    login(page, wf.base, "operator", PASSWORD)
    page.goto(f"{wf.base}/requests")
    item = page.locator(f"#pending .wf-request:has(a[href='/cases/{case_id}'])")
    expect(item).to_contain_text("需要协调物业")
    expect(item).to_contain_text("和平里居委会")
    old = wf.get(Case, id=case_id)[0].deadline_at
    assert old is not None
    # Bad input: a granted deadline before the current one. A Chinese error; the note typed stays; nothing changes.
    item.locator("input[name=deadline]").fill(
        (old - timedelta(days=1)).astimezone(wf.ctx.site.calendar.tz).strftime("%Y-%m-%dT%H:%M")
    )
    item.locator("textarea[name=note]").fill("同意，但须提前")
    item.locator("button[value=approve]").click()
    expect(item.locator(".wf-error")).to_have_text("批准的期限须晚于案件当前期限")
    expect(item.locator("textarea[name=note]")).to_have_value("同意，但须提前")
    assert wf.get(CaseRequest, case_id=case_id)[0].state == "pending"

    item.locator("input[name=deadline]").fill("2029-12-31T18:00")
    item.locator("button[value=approve]").click()
    expect(page.locator(f"#decided tr:has(a[href='/cases/{case_id}'])")).to_contain_text("已批准")
    decided = wf.get(CaseRequest, case_id=case_id)[0]
    assert (decided.state, decided.decided_by, decided.decision_note) == ("approved", "operator", "同意，但须提前")
    case = wf.get(Case, id=case_id)[0]
    assert case.state == "extended" and case.deadline_at == datetime(2029, 12, 31, 10, 0, tzinfo=UTC)  # 18:00 +08
    shot(page, f"wf-requests-{wf.ctx.store.engine.dialect.name}")


def test_the_centre_refuses_a_deferral(wf: Wf, page: Page) -> None:
    case_id = wf.dispatched()
    with wf.client("east") as client:
        body = {"kind": "defer", "reason": "雨天无法清运"}
        assert client.post(f"/api/v1/cases/{case_id}/requests", json=body).status_code == 201
    login(page, wf.base, "operator", PASSWORD)
    page.goto(f"{wf.base}/requests")
    item = page.locator(f"#pending .wf-request:has(a[href='/cases/{case_id}'])")
    item.locator("textarea[name=note]").fill("天气预报明天转晴")
    item.locator("button[value=refuse]").click()
    expect(page.locator(f"#decided tr:has(a[href='/cases/{case_id}'])")).to_contain_text("已驳回")
    assert wf.get(CaseRequest, case_id=case_id)[0].state == "refused"
    assert wf.get(Case, id=case_id)[0].state == "dispatched"


# ---- a case filed by hand ------------------------------------------------------------------------------


def test_a_hotline_call_is_filed_with_its_source_place_and_photo(wf: Wf, page: Page) -> None:
    login(page, wf.base, "operator", PASSWORD)
    page.goto(f"{wf.base}/intake")
    form = page.locator("#intake-form")
    form.locator("input[name=reporter]").fill("138****0000")
    form.locator("select[name=violation]").select_option("debris")
    form.locator("select[name=place_id]").select_option(label="菜市场巷口 · 西院")
    # Bad input: no description. A Chinese error naming the field; what was typed stays; nothing is filed.
    before = len(wf.get(Case, source="hotline"))
    form.locator("button[type=submit]").click()
    expect(form.locator(".wf-error")).to_have_text("“问题描述”必须填写")
    expect(form.locator("input[name=reporter]")).to_have_value("138****0000")
    assert len(wf.get(Case, source="hotline")) == before

    form.locator("textarea[name=description]").fill("12345 来电：菜市场巷口堆放旧家具")
    form.locator("input[name=photo]").set_input_files(str(PHOTO))
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    case = wf.get(Case, id=int(page.url.rsplit("/", 1)[1]))[0]
    assert (case.source, case.reporter, case.place_id, case.grid_id, case.unit_id, case.state) == (
        "hotline",
        "138****0000",
        "p-market",
        "g-west",
        "u-west",
        "pending_review",
    )
    assert case.description == "12345 来电：菜市场巷口堆放旧家具"
    expect(page.locator(".pictures img")).to_have_count(1)  # the photo is the case's sighting

    page.goto(f"{wf.base}/intake")  # the same place and type again: refused in Chinese, nothing filed
    form.locator("select[name=violation]").select_option("debris")
    form.locator("select[name=place_id]").select_option("p-market")
    form.locator("textarea[name=description]").fill("又一个来电")
    form.locator("button[type=submit]").click()
    expect(form.locator(".wf-error")).to_have_text(f"该点位已有同类未结案件 #{case.id}，无需重复登记")


def test_an_inspector_report_without_a_place_is_placed_in_the_grid_and_unit_chosen(wf: Wf, page: Page) -> None:
    login(page, wf.base, "operator", PASSWORD)
    page.goto(f"{wf.base}/intake")
    form = page.locator("#intake-form")
    form.locator("input[name=source][value=inspector]").check()
    form.locator("select[name=violation]").select_option("flyposting")
    form.locator("textarea[name=description]").fill("网格员巡查：电线杆上贴满小广告")
    form.locator("select[name=grid_id]").select_option(label="东院")
    form.locator("select[name=unit_id]").select_option(label="和平里居委会")
    form.locator("input[name=seen_at]").fill("2026-03-02T09:30")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    case = wf.get(Case, id=int(page.url.rsplit("/", 1)[1]))[0]
    assert (case.source, case.grid_id, case.unit_id, case.place_id) == ("inspector", "g-east", "u-committee", None)
    assert case.first_seen == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 at the site


# ---- a missed violation --------------------------------------------------------------------------------


def test_a_miss_is_recorded_against_a_camera_and_a_time(wf: Wf, page: Page) -> None:
    login(page, wf.base, "operator", PASSWORD)
    page.goto(f"{wf.base}/quality/miss")
    form = page.locator("#miss-form")
    form.locator("select[name=camera_id]").select_option(label="西巷")
    # yesterday, in the site's time: the page lists the misses of the last weeks
    seen = (datetime.now(wf.ctx.site.calendar.tz) - timedelta(days=1)).replace(second=0, microsecond=0)
    form.locator("input[name=seen_at]").fill(seen.strftime("%Y-%m-%dT%H:%M"))
    form.locator("select[name=violation]").select_option("bin_overflow")
    form.locator("select[name=label]").select_option("bin_overflow")  # two labels raise it: say which was missed
    form.locator("textarea[name=note]").fill("早高峰垃圾桶满溢未报")
    form.locator("input[name=case_id]").fill("第一个")  # bad input: not a number
    form.locator("button[type=submit]").click()
    expect(form.locator(".wf-error")).to_contain_text("须为数字")
    expect(form.locator("textarea[name=note]")).to_have_value("早高峰垃圾桶满溢未报")
    assert not wf.get(MissedReport, note="早高峰垃圾桶满溢未报")

    form.locator("input[name=case_id]").fill("")
    form.locator("button[type=submit]").click()
    expect(page.locator("#misses tbody")).to_contain_text("早高峰垃圾桶满溢未报")
    (miss,) = wf.get(MissedReport, note="早高峰垃圾桶满溢未报")
    assert (miss.camera_id, miss.violation, miss.label, miss.reported_by) == (
        "cam-2",
        "bin_overflow",
        "bin_overflow",
        "operator",
    )
    assert miss.seen_at == seen.astimezone(UTC)


# ---- quality -------------------------------------------------------------------------------------------


def test_quality_shows_the_worst_camera_first_with_its_figures(wf: Wf, page: Page) -> None:
    """Two cameras: cam-1 with 1 of 2 confirmed (50 % precision), cam-2 with 1 of 1 and a miss (recall 50 %)...
    counted from the store, the page's figures match a hand count."""
    now = datetime.now(UTC)
    made: list[int] = []
    for camera in ("cam-1", "cam-1", "cam-2"):
        wf.spot += 1
        bbox = (0.02 + 0.2 * (wf.spot % 5), 0.82, 0.17 + 0.2 * (wf.spot % 5), 0.97)
        event = sighting(Violation.BIN_OVERFLOW, camera_id=camera, bbox=bbox, at=now - timedelta(hours=1))
        made.append(wf.ctx.manager.ingest(*event, [picture(f"q{wf.spot}")], "m1", f"sha-q-{wf.spot}").case.id)
    this_week = weeks_back(now, wf.ctx.site.calendar.tz, 1)
    with wf.client("operator") as client:
        for case_id, verdict in zip(made, ("confirm", "reject", "confirm"), strict=True):
            assert client.post(f"/api/v1/cases/{case_id}/verdicts", json={"verdict": verdict}).status_code < 300
        rows = client.get(
            "/api/v1/reports/quality",
            params={
                "by": "camera",
                "start": this_week[0].isoformat(),  # the page's period (?weeks=1)
                "end": this_week[1].isoformat(),
            },
        ).json()
    figures = {r["key"]: r for r in rows}
    login(page, wf.base, "operator", PASSWORD)
    page.goto(f"{wf.base}/quality?weeks=1")
    cameras = page.locator("#quality-camera tbody tr")
    names = [cameras.nth(i).locator("th").inner_text().split()[0] for i in range(cameras.count())]
    assert names and names[0] == "东门"  # the worst first
    first = cameras.nth(0).locator("td").all_inner_texts()
    east = figures["cam-1"]
    assert first[:5] == [str(east[k]) for k in ("reviewed", "confirmed", "rejected", "relabelled", "missed")]
    assert first[5] == f"{east['precision'] * 100:.0f}%"
    expect(cameras.nth(0)).to_contain_text("需关注")
    labels = page.locator("#quality-label tbody").inner_text()
    assert label_name("zh", "garbage") in labels and "garbage" not in labels
    expect(page.locator("#quality-week tbody tr").first).to_contain_text("第")
    assert len(wf.get(Verdict)) >= 3


# ---- users and roles -----------------------------------------------------------------------------------


def test_admin_creates_a_unit_handler_scoped_to_its_unit_who_then_sees_its_cases(wf: Wf, page: Page) -> None:
    login(page, wf.base, "admin", PASSWORD)
    page.goto(f"{wf.base}/users")
    form = page.locator("#user-create")
    form.locator("input[name=name]").fill("liu.wei")
    form.locator("input[name=password]").fill("short")  # bad input: too short a password
    form.locator("select[name=role]").select_option("unit_handler")
    form.locator("select[name=unit]").select_option(label="和平里居委会")
    form.locator("button[type=submit]").click()
    expect(form.locator(".wf-error")).to_have_text("“密码”至少要 8 个字符")
    expect(form.locator("input[name=name]")).to_have_value("liu.wei")
    assert not wf.get(User, name="liu.wei")

    form.locator("input[name=password]").fill("juweihui-2026-pass")
    form.locator("button[type=submit]").click()
    row = page.locator("#users tr[data-user='liu.wei']")
    expect(row).to_contain_text("和平里居委会")
    (user,) = wf.get(User, name="liu.wei")
    assert (user.role, user.unit_id, user.grid_ids) == ("unit_handler", "u-committee", [])

    page.goto(f"{wf.base}/users")  # the same name again: refused in Chinese
    form.locator("input[name=name]").fill("liu.wei")
    form.locator("input[name=password]").fill("juweihui-2026-pass")
    form.locator("button[type=submit]").click()
    expect(form.locator(".wf-error")).to_have_text("用户名 liu.wei 已存在")

    theirs, other = wf.dispatched(unit_id="u-committee"), wf.dispatched()
    with wf.client("liu.wei") as client:
        listed = client.get("/api/v1/cases").json()["items"]
    assert theirs in {c["id"] for c in listed} and other not in {c["id"] for c in listed}

    # Change the role: an operator has no unit any more.
    row = page.locator("#users tr[data-user='liu.wei']")
    row.locator("summary").click()
    row.locator("select[name=role]").select_option("operator")
    expect(row.locator("[data-scope]")).to_be_hidden()
    row.locator("button[type=submit]").click()
    expect(page.locator("#users tr[data-user='liu.wei'] td").nth(1)).to_have_text("座席员")
    (user,) = wf.get(User, name="liu.wei")
    assert (user.role, user.unit_id) == ("operator", None)


# ---- a phone's width -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_screens_fit_a_phone(wf: Wf, path: str) -> None:
    context = wf.browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        login(page, wf.base, "admin", PASSWORD)
        page.goto(f"{wf.base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at 390 px"
    finally:
        context.close()
