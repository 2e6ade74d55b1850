# ruff: noqa: RUF001 - Chinese text is written with full-width punctuation
"""The admin and operator screens (issue 18.5) against the real service: uvicorn on a local port, a SQLite store
with a site named in Chinese, cases from real photos, and headless Chromium where the page's script matters.

Covers each screen's roles (the others get a 403 page), the Chinese pages holding no English UI string, tokens
created (shown once) and revoked (the token can no longer ingest), a webhook added, test-sent to a real local HTTP
receiver and removed, an upload of real photos followed to completion on a live progress bar without a reload,
exports of the chosen period, grid and format, the audit log's filters and local times, the phone-number report,
bad input refused in Chinese with nothing lost, and every screen at phone width. Screenshots: ``tests/artifacts/ui/``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Dialog, Locator, Page, expect
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.lifecycle import Action
from service.app import create_app
from service.auth import audit, tokens
from service.auth.users import create_user, get_user
from service.batches.store import batch_cases
from service.context import Context
from service.core.config import Settings
from service.core.site import Place, Zone, dump_site
from service.integrations.webhooks import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from service.scan import scan
from service.store.models import AuthToken, Case, CasePhone, Observation, PhotoBatch, Role, TokenKind, Webhook
from service.ui.i18n import MESSAGES
from tests.conftest import SAMPLES
from tests.db_fixtures import SITE
from tests.live_ui import chromium, eventually, login, serve, shot
from tests.test_webhooks import Receiver
from vision.detector import Detector

PASSWORD = "admin-ui-passw0rd"
USERS = {
    "admin": (Role.ADMIN, []),
    "operator": (Role.OPERATOR, []),
    "viewer": (Role.VIEWER, []),
    "east": (Role.UNIT_HANDLER, ["g-east"]),
}
# Real photos with parked cars: in a place whose whole photo is a no-parking zone, each opens cases.
PHOTOS = [SAMPLES / n for n in ("spb_facade_parked_cars.jpg", "car_park_overhead.jpg")]
UPLOAD = [SAMPLES / n for n in ("spb_facade_street_cars.jpg", "bin_point_night_cars.jpg", "cyclists_street.jpg")]
SEEN = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 at the site (Asia/Shanghai)
WHOLE = Zone(id="whole-photo", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
ALL = frozenset(USERS)
STAFF = frozenset({"admin", "operator"})
ADMIN = frozenset({"admin"})
# Each screen, its Chinese title, and who may open it (as its API: exports and phones any user, uploads staff).
SCREENS = [
    ("/admin/exports", "数据导出", ALL),
    ("/admin/batches", "照片批量上传", STAFF),
    ("/admin/phones", "小广告电话号码", ALL),
    ("/admin/tokens", "接入令牌", ADMIN),
    ("/admin/webhooks", "事件推送", ADMIN),
    ("/admin/audit", "操作日志", ADMIN),
]
# ASCII words a Chinese page may show: names of formats and protocols, the product, the language switch.
ASCII_OK = {"GridWatch", "English", "HTTP", "http", "https", "Excel", "CSV", "xlsx", "csv", "JPEG", "PNG", "WebP"}
ASCII_OK |= {"BMP", "jpg", "jpeg", "png", "webp", "bmp", "zip", "GPS", "JSON"}


def chinese_site(path: Path) -> Path:
    """The test site with Chinese names, no cameras (nothing to connect to) and two patrol places whose whole
    photo is a no-parking zone."""
    places = [
        Place(id="p-market", name="菜市场巷口", grid="g-west", lat=31.2400, lon=121.4600, radius_m=40, zones=[WHOLE]),
        Place(id="p-gate", name="东门垃圾点", grid="g-east", lat=31.2300, lon=121.4700, radius_m=40, zones=[WHOLE]),
    ]
    renamed = {"g-east": "东社区", "s1": "和平街道", "g-west": "西社区", "u-east": "东区物业", "u-west": "西区环卫队"}
    site = SITE.model_copy(
        update={
            "units": [u.model_copy(update={"name": renamed[u.id]}) for u in SITE.units],
            "grids": [g.model_copy(update={"name": renamed[g.id]}) for g in SITE.grids],
            "cameras": [],
            "places": places,
        }
    )
    dump_site(site, path)
    return path


@dataclass
class Live:
    app: FastAPI
    base: str
    browser: Browser
    cases: dict[str, int]  # a case of the seed photos in each grid

    @property
    def ctx(self) -> Context:
        ctx: Context = self.app.state.ctx
        return ctx

    def client(self, user: str | None) -> httpx.Client:
        """An HTTP client of ``user`` (a fresh session token), or an anonymous one."""
        headers = {}
        if user is not None:
            with self.ctx.store.transaction() as session:
                found = get_user(session, user)
                assert found is not None
                headers["Authorization"] = f"Bearer {tokens.issue_session(session, found, timedelta(hours=1)).value}"
        return httpx.Client(base_url=self.base, headers=headers, timeout=60)

    def page(self, user: str, width: int = 1280) -> Page:
        context = self.browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
        context.set_default_timeout(30_000)
        # Pages load in well under a second on an idle machine; the suite shares its cores with training runs and
        # other browsers, where a page's load event was seen to take over 30 s.
        context.set_default_navigation_timeout(120_000)
        page = context.new_page()
        login(page, self.base, user, PASSWORD)  # admin and operator land on the review queue
        return page


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("admin-ui")
    site = chinese_site(tmp / "site.yaml")
    settings = Settings(
        data_dir=tmp / "data",
        site=site,
        model=detector.path,
        admin_password=SecretStr(PASSWORD),
        upload_rate_limit=0,  # the limit has its own tests
        # The screens show what the pipeline stored, not how it judged: no text reading or tiles, so the photos
        # scan in a fraction of the time (the phone numbers are stored by the test).
        text_finder=False,
        tiles="off",
    )
    app = create_app(settings, detector=detector)
    with serve(app) as base, chromium() as browser:
        ctx: Context = app.state.ctx
        with ctx.store.transaction() as session:
            for name, (role, grids) in USERS.items():
                if get_user(session, name) is None:
                    create_user(session, name, role, PASSWORD, grids)
        for photo, place in zip(PHOTOS, ("p-market", "p-gate"), strict=True):
            scan([photo], ctx, place=place)
        with ctx.store.session() as session:
            cases = {grid: min(ids) for grid, ids in _cases_per_grid(session).items()}
        assert set(cases) == {"g-west", "g-east"}, "each seed photo must open a case"
        yield Live(app, base, browser, cases)


def _cases_per_grid(session: Session) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for case_id, grid in session.execute(select(Case.id, Case.grid_id)):
        found.setdefault(str(grid), []).append(case_id)
    return found


class _Text(HTMLParser):
    """The text a person sees on a page: no script, style or JSON data island."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


# ---- roles ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "title", "allowed"), SCREENS)
def test_each_screen_admits_its_roles_and_refuses_the_others(
    live: Live, path: str, title: str, allowed: frozenset[str]
) -> None:
    for user in USERS:
        with live.client(user) as client:
            answer = client.get(path, params={"lang": "zh"})
            menu = client.get("/cases", params={"lang": "zh"}).text
        if user in allowed:
            assert answer.status_code == 200, (user, answer.text[:300])
            assert f"<h1>{title}" in answer.text
            assert f'href="{path}"' in menu  # the admin menu offers it
        else:
            assert answer.status_code == 403, user
            assert "您的角色无权使用此页面" in answer.text
            assert f'href="{path}"' not in menu
    with live.client(None) as anonymous:
        answer = anonymous.get(path)
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/login?next={path}")


@pytest.mark.parametrize(("path", "title", "allowed"), SCREENS)
def test_chinese_screens_show_no_english_ui_string(live: Live, path: str, title: str, allowed: frozenset[str]) -> None:
    with live.client("admin") as client:
        zh = client.get(path, params={"lang": "zh"}).text
        en = client.get(path, params={"lang": "en"}).text
    text = visible_text(zh)
    data = set(USERS) | {"token", "hook", "127.0.0.1"}  # user names, names typed by the tests, addresses
    words = set(re.findall(r"[A-Za-z]{3,}", text)) - ASCII_OK - data
    assert not words, f"English on the Chinese page {path}: {sorted(words)}"
    leaked = [
        en_text
        for key, (zh_text, en_text) in MESSAGES.items()
        if key.startswith("adm.") and en_text != zh_text and len(en_text) > 3 and en_text in text
    ]
    assert not leaked, leaked
    assert title in zh and title not in visible_text(en)  # and the English page is English


# ---- ingest tokens ----------------------------------------------------------------------------------------


def _accept(dialog: Dialog) -> None:
    dialog.accept()


def test_token_is_shown_once_and_once_revoked_can_no_longer_ingest(live: Live) -> None:
    page = live.page("admin")
    page.goto(f"{live.base}/admin/tokens?lang=zh")
    page.evaluate("window.__noReload = 1")
    with live.ctx.store.session() as session:
        before = session.scalar(select(func.count()).select_from(AuthToken).where(AuthToken.kind == TokenKind.API))
    # Bad input: said in Chinese, nothing created, what was typed stays.
    page.fill("#token-form input[name=days]", "0")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("请填写用途名称")
    page.fill("#token-form input[name=name]", "南门巡查终端")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("有效天数须大于 0 且不超过 366")
    expect(page.locator("#token-form input[name=name]")).to_have_value("南门巡查终端")
    with live.ctx.store.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(AuthToken).where(AuthToken.kind == TokenKind.API)) == before
        )

    page.fill("#token-form input[name=days]", "30")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-secret")).to_be_visible()
    secret = page.locator("#token-value").inner_text()
    assert secret.startswith("gwt_")
    row = page.locator("#token-table tr", has_text="南门巡查终端")
    expect(row).to_contain_text("有效")
    ingest = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{live.base}/api/v1/batches", headers=ingest).status_code == 200  # it ingests
    shot(page, "admin-tokens-zh")

    page.on("dialog", _accept)
    row.locator("button[data-revoke]").click()
    expect(row).to_contain_text("已吊销")
    expect(page.locator("#status")).to_have_text("已吊销令牌")
    assert page.evaluate("window.__noReload") == 1
    assert httpx.get(f"{live.base}/api/v1/batches", headers=ingest).status_code == 401  # and no longer
    with live.ctx.store.session() as session:
        stored = session.scalars(select(AuthToken).where(AuthToken.name == "南门巡查终端")).one()
        assert stored.revoked_at is not None and stored.token_hash != secret
    page.reload()
    assert secret not in page.content()  # shown once: never again
    page.context.close()


# ---- webhooks ---------------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_webhook_added_test_sent_delivered_and_removed(live: Live, receiver: Receiver) -> None:
    page = live.page("admin")
    page.goto(f"{live.base}/admin/webhooks?lang=zh")
    # Bad input: a URL that is no http(s) address, then a short secret; nothing is stored.
    page.fill("#hook-form input[name=url]", "ftp://127.0.0.1/hook")
    page.fill("#hook-form input[name=secret]", "short")
    page.click("#hook-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("请填写以 http:// 或 https:// 开头的完整地址")
    page.fill("#hook-form input[name=url]", receiver.url)
    page.click("#hook-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("签名密钥至少 16 位")
    expect(page.locator("#hook-form input[name=url]")).to_have_value(receiver.url)
    with live.ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Webhook).where(Webhook.url == receiver.url)) == 0

    page.click("#hook-generate")
    secret = page.locator("#hook-form input[name=secret]").input_value()
    assert len(secret) >= 16
    page.click("#hook-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("已添加事件推送")
    row = page.locator("#hook-table tr", has_text=receiver.url)
    expect(row).to_contain_text("尚未推送")
    expect(row).to_contain_text("全部操作")

    row.locator("button[data-test]").click()
    expect(page.locator("#status")).to_have_text("测试成功：接收方返回 HTTP 200")
    headers, body = receiver.requests[-1]
    assert headers[EVENT_HEADER.lower()] == "test"
    assert verify(secret, headers[TIMESTAMP_HEADER.lower()], body, headers[SIGNATURE_HEADER.lower()])
    receiver.answers.append(500)
    row.locator("button[data-test]").click()
    expect(page.locator("#status")).to_have_text("测试失败：接收方返回 HTTP 500")

    # A real case event goes out through the outbox; the page then shows the last delivery.
    live.ctx.manager.act(live.cases["g-west"], Action.FILE, actor="operator")
    eventually(lambda: any(h.get(EVENT_HEADER.lower()) == "file" for h, _ in receiver.requests))
    page.reload()
    row = page.locator("#hook-table tr", has_text=receiver.url)
    expect(row.locator(".last-delivery")).to_contain_text("已送达")
    expect(row.locator(".last-delivery")).to_contain_text("HTTP 200")
    shot(page, "admin-webhooks-zh")

    page.on("dialog", _accept)
    row.locator("button[data-remove]").click()
    expect(page.locator("#status")).to_have_text("已删除事件推送")
    expect(page.locator("#hook-table tr", has_text=receiver.url)).to_have_count(0)
    with live.ctx.store.session() as session:
        hook = session.scalars(select(Webhook).where(Webhook.url == receiver.url)).one()
        assert not hook.active
        tests = audit.list_entries(session, action="webhook.test", target=f"webhook:{hook.id}")[0]
        assert sorted(e.details["status"] for e in tests) == [200, 500]
    page.context.close()


# ---- photo upload -----------------------------------------------------------------------------------------


def test_upload_of_real_photos_runs_to_completion_with_live_progress(live: Live, tmp_path: Path) -> None:
    page = live.page("operator")
    page.goto(f"{live.base}/admin/batches?lang=zh")
    page.evaluate("window.__noReload = 1")
    with live.ctx.store.session() as session:
        batches_before = session.scalar(select(func.count()).select_from(PhotoBatch))
    page.click("#upload-form button[type=submit]")  # nothing chosen
    expect(page.locator("#status")).to_have_text("请先选择照片")
    with live.ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(PhotoBatch)) == batches_before

    broken = tmp_path / "损坏的照片.jpg"
    broken.write_bytes(b"this is not a picture")
    page.set_input_files("#upload-files", [*map(str, UPLOAD), str(broken)])
    page.select_option("#upload-form select[name=place]", label="菜市场巷口")
    page.click("#upload-form button[type=submit]")
    card = page.locator("#batches .batch").first
    expect(card).to_be_visible()
    seen: list[tuple[str, int]] = []  # (state, photos processed) as the page showed them
    eventually(lambda: _progress(card, seen) == "done", timeout=300)
    assert page.evaluate("window.__noReload") == 1  # the card updated itself; the page never reloaded
    total = len(UPLOAD) + 1
    assert seen[0][1] < total, seen  # the bar was seen before the end...
    assert seen[-1] == ("done", total)  # ...and at the end
    assert [n for _, n in seen] == sorted(n for _, n in seen)  # never backwards
    expect(card.locator(".batch-count")).to_contain_text(f"已处理 {total} / {total} 张")
    batch_id = (card.get_attribute("id") or "").removeprefix("batch-")
    with live.ctx.store.session() as session:
        batch = session.get_one(PhotoBatch, batch_id)
        assert batch.failed == 1 and batch.place_id == "p-market"
        opened = sorted({c for c in _batch_cases(live, batch_id, "opened")})
    links = card.locator(".outcome-opened a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert links == [f"/cases/{c}" for c in opened]
    failed = card.locator("table.failed tbody tr")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("损坏的照片.jpg")
    expect(failed).to_contain_text("不是图片，或图片格式不受支持")
    shot(page, "admin-batches-zh")
    page.context.close()


def _progress(card: Locator, seen: list[tuple[str, int]]) -> str:
    """The batch card's state now; records (state, photos processed) whenever the page shows a change."""
    state = card.get_attribute("data-state") or ""
    processed = int(card.locator("progress").get_attribute("value") or 0)
    if not seen or seen[-1] != (state, processed):
        seen.append((state, processed))
    return state


def _batch_cases(live: Live, batch_id: str, outcome: str) -> list[int]:
    with live.ctx.store.session() as session:
        return batch_cases(session, batch_id)[outcome]


# ---- exports ----------------------------------------------------------------------------------------------


def _first_seen_days(live: Live, grid: str) -> tuple[date, date, int]:
    """The local days the grid's cases were first seen on (the photos' EXIF days), and how many cases it has."""
    tz = live.ctx.site.calendar.tz
    with live.ctx.store.session() as session:
        seen = list(session.scalars(select(Case.first_seen).where(Case.grid_id == grid)))
    days = sorted(moment.astimezone(tz).date() for moment in seen)
    return days[0], days[-1], len(days)


def test_export_gives_the_chosen_grid_period_and_format_in_chinese(live: Live) -> None:
    first, last, count = _first_seen_days(live, "g-west")
    assert last - first < timedelta(days=3 * 366), "the photos' days must fit one export"
    period = {"from": first.isoformat(), "to": last.isoformat()}
    with live.client("operator") as client:
        answer = client.get(
            "/admin/exports/file",
            params={**period, "what": "cases", "grid": "g-west", "format": "xlsx"},
            follow_redirects=True,
            headers={"Accept-Language": "zh-CN"},
        )
        kpis = client.get(
            "/admin/exports/file",
            params={**period, "what": "kpis", "by": "grid", "format": "csv"},
            follow_redirects=True,
            headers={"Accept-Language": "zh-CN"},
        )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    assert "网格" in header and not any(re.search(r"[a-z]{3,}_[a-z]", h) for h in header), header
    grids = {row[header.index("网格")] for row in rows[1:]}
    assert grids == {"西社区"} and len(rows) - 1 == count
    assert kpis.status_code == 200 and kpis.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(kpis.content.decode("utf-8-sig"))))
    assert "结案率" in table[0], table[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"from": "2026-03-09", "to": "2026-03-02"}, "截止日期不能早于起始日期"),
        ({"from": "2026-13-40"}, "日期格式不对，请用 年-月-日"),
        ({"from": "2020-01-01", "to": "2026-03-02"}, "时间跨度不能超过三年"),
        ({"grid": "no-such-grid"}, "没有这个网格"),
    ],
)
def test_a_bad_export_choice_is_said_in_chinese_and_kept(live: Live, change: dict[str, str], message: str) -> None:
    query = {"what": "kpis", "from": "2026-03-02", "to": "2026-03-08", "by": "unit", "format": "csv"} | change
    with live.client("operator") as client:
        answer = client.get("/admin/exports/file", params={**query, "lang": "zh"})
    assert answer.status_code == 422
    assert message in answer.text
    for name in ("from", "to"):  # what was typed comes back as typed
        assert f'name="{name}" value="{query[name]}"' in answer.text
    assert '<option value="unit" selected>' in answer.text
    assert 'value="kpis" checked' in answer.text and 'value="csv" checked' in answer.text


# ---- audit log --------------------------------------------------------------------------------------------


def test_audit_log_pages_filters_and_shows_local_time_and_chinese_actions(live: Live) -> None:
    with live.ctx.store.transaction() as session:
        for n in range(55):
            audit.record(session, "admin", "token.create", f"token:{9000 + n}", {"name": f"盒子{n}"}, SEEN)
        audit.record(session, "operator", "case.dispatch", f"case:{live.cases['g-west']}", {"to": "dispatched"}, SEEN)
    day = {"from": "2026-03-02", "to": "2026-03-02", "lang": "zh"}
    with live.client("admin") as client:
        first = client.get("/admin/audit", params=day).text
        second = client.get("/admin/audit", params={**day, "page": 2}).text
        mine = client.get("/admin/audit", params={**day, "actor": "operator"}).text
        action = client.get("/admin/audit", params={**day, "action": "token.create"}).text
        other_day = client.get("/admin/audit", params={"from": "2026-03-03", "to": "2026-03-03", "lang": "zh"}).text
    assert "56 条" in first and first.count("<tr data-action") == 50 and "1 / 2" in first
    assert second.count("<tr data-action") == 6
    assert "2026-03-02 09:00" in first  # 01:00 UTC in the site's zone
    assert "新建接入令牌" in first and "令牌 #9054" in first and "名称：盒子54" in first
    assert mine.count("<tr data-action") == 1 and "派遣" in mine and "新状态：已派遣" in mine
    case = live.cases["g-west"]
    assert f'<a href="/cases/{case}">案件 #{case}</a>' in mine
    assert action.count("<tr data-action") == 50 and "55 条" in action
    assert "没有符合条件的记录" in other_day


# ---- phone numbers ----------------------------------------------------------------------------------------


def test_phone_report_counts_cases_links_them_and_keeps_to_the_viewers_cases(live: Live) -> None:
    with live.ctx.store.transaction() as session:
        for case_id, number in [
            (live.cases["g-west"], "13812345678"),
            (live.cases["g-east"], "13812345678"),
            (live.cases["g-east"], "010-62345678"),
        ]:
            observation = session.scalars(select(Observation.id).where(Observation.case_id == case_id)).first()
            assert observation is not None
            session.add(
                CasePhone(
                    case_id=case_id,
                    observation_id=observation,
                    number=number,
                    kind="landline" if "-" in number else "mobile",
                    text=f"开锁 {number}",
                    seen_at=SEEN,
                )
            )
    with live.client("operator") as client:
        report = client.get("/admin/phones", params={"lang": "zh"}).text
        two = client.get("/admin/phones", params={"lang": "zh", "min_cases": 2}).text
        bad = client.get("/admin/phones", params={"lang": "zh", "min_cases": "两个"})
    with live.client("east") as client:
        handler = client.get("/admin/phones", params={"lang": "zh"}).text
    row = re.search(r'<tr data-number="13812345678">(.*?)</tr>', report, re.S)
    assert row is not None
    cells = visible_text(row.group(1))
    assert "手机" in cells and "2026-03-02 09:00" in cells and "西社区" in cells and "东社区" in cells
    for case_id in live.cases.values():
        assert f'<a href="/cases/{case_id}">#{case_id}</a>' in row.group(1)
    assert report.index('data-number="13812345678"') < report.index('data-number="010-62345678"')  # most cases first
    assert "固定电话" in report
    assert 'data-number="13812345678"' in two and 'data-number="010-62345678"' not in two
    assert bad.status_code == 422 and "案件数须为 1 到 10000 之间的整数" in bad.text and 'value="两个"' in bad.text
    assert "还没有识别到电话号码" in handler  # none of these cases was dispatched to its unit


# ---- phone width ------------------------------------------------------------------------------------------


def test_every_screen_fits_a_phone(live: Live) -> None:
    page = live.page("admin", width=390)
    for path, title, _ in SCREENS:
        page.goto(f"{live.base}{path}?lang=zh")
        expect(page.locator("h1")).to_contain_text(title)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 391, f"{path} is {width} px wide at 390"
        shot(page, f"admin-phone-{path.rsplit('/', 1)[1]}")
    page.locator(".admin-menu summary").click()
    expect(page.locator(".admin-menu a")).to_have_count(len(SCREENS))
    page.context.close()
