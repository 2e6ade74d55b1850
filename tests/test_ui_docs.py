"""``/docs`` works without the internet: Swagger UI comes from the package, in headless Chromium against the real
service. Every request the page makes is recorded; any that leaves the service's origin fails the test (and is
blocked, as it would be on a network without internet access).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Route, expect

from service.app import create_app
from service.core.config import Settings
from tests.live_ui import chromium, serve, shot


def test_docs_load_nothing_from_outside(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    with serve(app) as base, chromium() as browser:
        page = browser.new_page()
        outside: list[str] = []

        def offline(route: Route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", offline)
        seen: list[str] = []
        page.on("request", lambda request: seen.append(request.url))
        response = page.goto(f"{base}/docs")
        assert response is not None and response.ok
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("GridWatch", timeout=90_000)  # a 1.4 MB script
        expect(page.locator(".opblock-tag").first).to_be_visible()  # the operations, read from /openapi.json
        page.wait_for_load_state("networkidle")
        assert not outside, outside
        assert f"{base}/static/vendor/swagger-ui/swagger-ui-bundle.js" in seen
        assert f"{base}/openapi.json" in seen
        shot(page, "api-docs")
        assert app.openapi()["paths"]  # the document the page shows
        assert page.request.get(f"{base}/redoc").status == 404  # ReDoc needed a CDN; it is gone
