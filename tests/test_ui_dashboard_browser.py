"""The dashboard, the case list, a case page and the weekly report in headless Chromium (issue 18): no page-level
horizontal scroll at phone width (390 px), KPI labels drawn as text at a readable size, a case page's map with the
case, its camera and its grid drawn from the site on their own (no tile), and the weekly report printed on A4
without the navigation. The cases are those of ``test_ui_dashboard`` on a SQLite store. Screenshots:
``tests/artifacts/ui/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, ViewportSize, expect
from pydantic import SecretStr

from service.api.deps import SESSION_COOKIE
from service.app import create_app
from service.auth.users import create_user, get_user
from service.core.config import Settings
from service.core.site import dump_site
from tests.api_fixtures import PASSWORD, USERS, Api
from tests.db_fixtures import SITE
from tests.live_ui import chromium, serve, shot
from tests.test_ui_dashboard import WEEK, YEAR, seed_week
from vision.detector import Detector

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
WEEKLY = f"/dashboard/weekly?year={YEAR}&week={WEEK}"


class Live:
    """The served app, its browser and the seeded cases by letter."""

    def __init__(self, base: str, browser: Browser, api: Api, cases: dict[str, int]) -> None:
        self.base, self.browser, self.api, self.cases = base, browser, api, cases

    def page(self, viewport: ViewportSize, lang: str, user: str = "operator") -> Page:
        """A new browser profile signed in as ``user`` with a session cookie (the login form has its own tests;
        hashing a password per page would only slow these down)."""
        context = self.browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport=viewport)
        context.add_cookies([{"name": SESSION_COOKIE, "value": self.api.token(user), "url": self.base}])
        context.set_default_timeout(90_000)  # the machines that run the suite share their cores with training
        return context.new_page()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("dash-live")
    # The test site's cameras disabled: their addresses do not exist here (their rows, places and grids stay).
    cameras = [c.model_copy(update={"enabled": False}) for c in SITE.cameras]
    dump_site(SITE.model_copy(update={"cameras": cameras}), tmp / "site.yaml")
    settings = Settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'gridwatch.db'}",
        site=tmp / "site.yaml",
        model=detector.path,
        admin_password=SecretStr(PASSWORD),
    )
    app = create_app(settings, detector=detector)
    with serve(app) as base, chromium() as browser:
        # The seeding helpers use the context only; the client is never entered (the server above runs the app).
        api = Api(app, TestClient(app), tmp / "site.yaml")
        with api.ctx.store.transaction() as session:
            for name, (role, grids) in USERS.items():
                if get_user(session, name) is None:
                    create_user(session, name, role, PASSWORD, grids)
        yield Live(base, browser, api, seed_week(api))


def page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def too_wide(page: Page, width: int) -> list[str]:
    """The elements reaching past ``width`` px, for the failure message."""
    script = """w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w)
        .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""
    return list(page.evaluate(script, width))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("cases", "/cases"),
        ("cases-all", "/cases?state=all"),
        ("dashboard", "/dashboard"),
        ("dashboard-week10", f"/dashboard?year={YEAR}&week={WEEK}"),
        ("weekly", WEEKLY),
        ("case", "/cases/{D}"),
    ],
)
def test_no_horizontal_scroll_at_phone_width(live: Live, name: str, path: str, lang: str) -> None:
    page = live.page(PHONE, lang)
    page.goto(live.base + path.format(**live.cases) + ("&" if "?" in path else "?") + f"lang={lang}")
    page.wait_for_load_state("networkidle")
    assert page_width(page) <= PHONE["width"], (name, page_width(page), too_wide(page, PHONE["width"]))
    shot(page, f"phone-{name}-{lang}")
    page.context.close()


def test_case_list_is_cards_on_a_phone(live: Live) -> None:
    """At 390 px each case is a card whose lines are named by their column (the header row is hidden)."""
    page = live.page(PHONE, "zh")
    page.goto(f"{live.base}/cases?state=all&lang=zh")
    row = page.locator("table.cases tbody tr").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    label = page.locator("table.cases tbody td").nth(1).evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"类型"'
    assert page.locator("table.cases thead").evaluate("h => h.getBoundingClientRect().width") <= 1  # for readers only
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_kpi_bars_and_today_counts_are_readable(live: Live, viewport: ViewportSize) -> None:
    page = live.page(viewport, "zh")
    page.goto(f"{live.base}/dashboard?lang=zh")
    sizes = page.locator("#kpis .rates .rate-name, #kpis .rates .rate-value").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert len(sizes) == 10 and min(sizes) >= 14, sizes  # five rates, each name and value: real text, >= 14 px
    expect(page.locator("#kpis .rates li").first).to_contain_text("结案率")
    big = page.locator("#today-overdue .n").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert big >= 32  # the wall's numbers, readable across a room
    expect(page.locator("#today-overdue .n")).to_have_text("2")  # B and D
    page.context.close()


def test_case_page_map_shows_the_case(live: Live) -> None:
    page = live.page(DESKTOP, "zh")
    page.goto(f"{live.base}/cases/{live.cases['B']}?lang=zh")  # on cam-1: a camera with a position, in g-east
    expect(page.locator("#case-map path.map-cases")).to_have_count(1)
    expect(page.locator("#case-map path.map-cameras")).to_have_count(1)
    expect(page.locator("#case-map path.leaflet-interactive:not(.map-cases):not(.map-cameras)")).to_have_count(1)
    expect(page.locator("#case-map .leaflet-tile")).to_have_count(0)  # no tile server: nothing from outside
    page.locator("#case-map path.map-cases").hover()
    expect(page.locator(".leaflet-tooltip")).to_contain_text("暴露垃圾")
    shot(page, "case-map")
    page.goto(f"{live.base}/cases/{live.cases['D']}?lang=zh")  # cam-2 has no position, g-west no polygon
    expect(page.locator("#case-map-section .empty")).to_have_text("该案件没有位置信息")
    page.context.close()


def test_weekly_report_prints_on_a4_without_navigation(live: Live, tmp_path: Path) -> None:
    page = live.page(DESKTOP, "zh")
    page.goto(f"{live.base}{WEEKLY}&lang=zh")
    expect(page.locator("header.top")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator(".report-tools")).to_be_hidden()
    expect(page.locator("#exposure-table tbody tr")).to_have_count(2)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (tmp_path / "weekly.pdf").write_bytes(pdf)
    boxes = {
        tuple(round(float(v)) for v in m.groups()) for m in re.finditer(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    }
    assert boxes == {(595, 842)}, boxes  # A4 portrait in points, every page
    page.context.close()
