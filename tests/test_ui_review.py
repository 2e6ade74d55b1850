"""The review queue with a realistic backlog, in headless Chromium against the real service.

73 real photos of overflowing bins and street garbage (``../shared/data/garbage_bin_overflow_cn``, valid split) are
scanned with the shipped model, each at its own position, so about 70 cases wait for review. Checks what an
operator with hundreds pending needs: a first screen that stays small (thumbnails, paging), decisions without a
page reload, undo, a confirmation before the terminal 不予立案, shortcuts that survive a checkbox click and a bulk
action that says when nothing is selected. Screenshots: ``tests/artifacts/ui/``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Request, expect
from sqlalchemy import select

from domain.lifecycle import CaseState
from service.app import create_app
from service.auth.users import create_user
from service.context import Context
from service.core.config import DEFAULT_MODEL, Settings
from service.core.site import dump_site, load_site
from service.scan import scan
from service.store.models import Case, Role
from tests.conftest import ROOT
from tests.live_ui import chromium, eventually, login, serve, shot
from tests.servers import missing
from vision.detector import Detector

PASSWORD = "ui-review-passw0rd"
PHOTOS = sorted((ROOT.parent / "shared" / "data" / "garbage_bin_overflow_cn" / "valid").rglob("*.jpg"))[:80]
FIRST_SCREEN_BUDGET = 1_500_000  # bytes transferred for the review page with its first screen of pictures
MARK = "window.__noReload = 1"  # set on the page: still there afterwards means the page was not reloaded


class Queue:
    def __init__(self, ctx: Context, base: str, browser: Browser) -> None:
        self.ctx, self.base, self.browser = ctx, base, browser

    def pending(self) -> list[int]:
        """Pending case ids as the queue lists them, newest first."""
        with self.ctx.store.session() as session:
            query = select(Case.id).where(Case.state == CaseState.PENDING_REVIEW).order_by(Case.id.desc())
            return list(session.scalars(query))

    def state(self, case_id: int) -> str:
        with self.ctx.store.session() as session:
            return session.get_one(Case, case_id).state


@pytest.fixture(scope="module")
def queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Queue]:
    if len(PHOTOS) < 70:
        missing("the garbage_bin_overflow_cn photos in ../shared/data")
    tmp = tmp_path_factory.mktemp("review")
    detector = Detector(DEFAULT_MODEL, providers="cpu")
    site = load_site(ROOT / "docs" / "site.example.yaml")  # its cameras off: their addresses do not exist here
    cameras = [c.model_copy(update={"enabled": False}) for c in site.cameras]
    dump_site(site.model_copy(update={"cameras": cameras}), tmp / "site.yaml")
    settings = Settings(data_dir=tmp / "data", site=tmp / "site.yaml", model=detector.path)
    app = create_app(settings, detector=detector)
    with serve(app) as base, chromium() as browser:
        ctx: Context = app.state.ctx
        with ctx.store.transaction() as session:
            create_user(session, "operator", Role.OPERATOR, PASSWORD, [])
        for i, photo in enumerate(PHOTOS):  # ~55 m apart: every photo is its own case
            scan([photo], ctx, lat=39.9600 + 0.0005 * i, lon=116.4150)
        yield Queue(ctx, base, browser)


@pytest.fixture
def page(queue: Queue) -> Iterator[Page]:
    context = queue.browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    login(page, queue.base, "operator", PASSWORD)
    page.evaluate(MARK)
    yield page
    context.close()


def shown(page: Page) -> list[int]:
    ids = page.locator(".review-item:not([hidden])").evaluate_all("items => items.map(i => Number(i.dataset.case))")
    return [int(i) for i in ids]


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__noReload === 1"))


def test_first_screen_is_small_with_a_large_backlog(queue: Queue, page: Page) -> None:
    pending = queue.pending()
    assert len(pending) >= 60
    sizes: list[tuple[str, int]] = []

    def count(request: Request) -> None:
        size = request.sizes()
        sizes.append((request.url, size["responseBodySize"] + size["responseHeadersSize"]))

    page.on("requestfinished", count)
    page.goto(f"{queue.base}/review")
    page.wait_for_load_state("networkidle")
    page.evaluate(MARK)
    total = sum(n for _, n in sizes)
    assert total < FIRST_SCREEN_BUDGET, sorted(sizes, key=lambda s: -s[1])[:5]
    assert shown(page) == pending[:20]  # the first page, newest first
    expect(page.locator("#queue-count")).to_contain_text(f"{len(pending)} pending review")
    image = page.locator(".review-item").first.locator(".evidence img").first
    assert (image.get_attribute("src") or "").startswith("/thumbs/")
    assert 0 < image.evaluate("img => img.naturalWidth") <= 360
    full = page.locator(".review-item").first.locator("a.full").first
    assert (full.get_attribute("href") or "").startswith("/api/v1/evidence/")  # full size on demand
    pictures = [url for url, _ in sizes if "/thumbs/" in url or "/evidence/" in url]
    assert 0 < len(pictures) < 40  # below the fold they wait (loading=lazy)
    print(f"first screen: {total} bytes in {len(sizes)} requests, {len(pictures)} pictures")
    shot(page, "review-backlog")

    page.click(".pager a[rel=next]")
    page.wait_for_url(f"{queue.base}/review?page=2")
    expect(page.locator(".review-item").first).to_have_attribute("data-case", str(pending[20]))
    assert not_reloaded(page)  # htmx swapped the queue in


def test_decision_is_held_for_undo_then_sent_without_reload(queue: Queue, page: Page) -> None:
    first, second = shown(page)[:2]
    page.keyboard.press("f")
    expect(page.locator(f"#case-{first}")).to_be_hidden()
    expect(page.locator("#undo-bar")).to_contain_text(f"Filed: #{first}")
    assert page.evaluate("document.activeElement.dataset.case") == str(second)
    page.keyboard.press("u")
    expect(page.locator(f"#case-{first}")).to_be_visible()
    expect(page.locator("#undo-bar")).to_be_hidden()

    page.keyboard.press("f")  # again, and let it go
    expect(page.locator(f"#case-{first}")).to_be_hidden()
    eventually(lambda: queue.state(first) == CaseState.FILED)
    expect(page.locator("#undo-bar")).to_be_hidden()
    expect(page.locator(".review-item:not([hidden])")).to_have_count(20)  # refilled from the next page
    assert first not in shown(page) and not_reloaded(page)
    assert queue.state(second) == CaseState.PENDING_REVIEW  # the undone first attempt sent nothing else


def test_reject_asks_first(queue: Queue, page: Page) -> None:
    target = shown(page)[0]
    page.keyboard.press("r")
    dialog = page.locator("#confirm-reject")
    expect(dialog).to_be_visible()
    shot(page, "review-confirm-reject")
    page.keyboard.press("Escape")  # changed their mind
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#case-{target}")).to_be_visible()
    page.keyboard.press("r")
    dialog.locator("button[value=reject]").click()
    expect(page.locator(f"#case-{target}")).to_be_hidden()
    eventually(lambda: queue.state(target) == CaseState.REJECTED)
    assert not_reloaded(page)


def test_shortcuts_survive_a_checkbox_click_and_bulk_needs_a_selection(queue: Queue, page: Page) -> None:
    page.click("[data-bulk=file]")
    expect(page.locator("#status")).to_have_text("Select some cases first")
    ids = shown(page)
    page.locator(f"#select-{ids[2]}").click()  # the mouse ticks the third case; the keys go on
    page.keyboard.press("j")
    expect(page.locator(".review-item.current")).to_have_attribute("data-case", str(ids[3]))
    page.keyboard.press("x")
    page.click("[data-bulk=file]")
    expect(page.locator("#undo-bar")).to_contain_text(f"Filed: #{ids[2]}, #{ids[3]}")
    eventually(lambda: queue.state(ids[2]) == queue.state(ids[3]) == CaseState.FILED)
    assert queue.state(ids[0]) == CaseState.PENDING_REVIEW and not_reloaded(page)


def test_leaving_the_page_sends_what_is_held(queue: Queue, page: Page) -> None:
    target = shown(page)[0]
    page.keyboard.press("f")
    expect(page.locator(f"#case-{target}")).to_be_hidden()
    page.goto(f"{queue.base}/cases")  # well before the undo time is up
    eventually(lambda: queue.state(target) == CaseState.FILED)


def test_thumbnail_is_refused_for_an_unknown_picture(queue: Queue, page: Page) -> None:
    response = page.goto(f"{queue.base}/thumbs/{'0' * 64}")
    assert response is not None and response.status == 404
    response = page.goto(f"{queue.base}/thumbs/..%2f..%2fetc")
    assert response is not None and response.status == 404


def test_thumbnails_are_small(queue: Queue, page: Page) -> None:
    sha = (page.locator(".evidence img").first.get_attribute("src") or "").removeprefix("/thumbs/")
    thumb = page.request.get(f"{queue.base}/thumbs/{sha}")
    full = page.request.get(f"{queue.base}/api/v1/evidence/{sha}")
    assert thumb.ok and full.ok and thumb.headers["content-type"] == "image/jpeg"
    small, large = Image.open(io.BytesIO(thumb.body())), Image.open(io.BytesIO(full.body()))
    assert max(small.size) == 360 < max(large.size) and len(thumb.body()) < len(full.body())
