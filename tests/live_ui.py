"""The real service on a local port and headless Chromium driving it, for the web UI and end-to-end tests.

The app runs under uvicorn in a thread of the test process (so a test can reach ``app.state.ctx`` for setup and
checks); Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright, which never downloads a browser here.
Screenshots go to ``tests/artifacts/ui/`` (git-ignored), kept after the run for people to look at.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ROOT
from tests.servers import missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "tests" / "artifacts" / "ui"
# Assertions wait up to 15 s (Playwright's default is 5 s): a failed login is slowed on purpose, and the machines
# that run the suite share their cores with training runs.
expect.set_options(timeout=15_000)


@contextmanager
def serve(app: FastAPI, timeout: float = 120.0) -> Iterator[str]:
    """Run ``app`` (lifespan included) on a free local port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the kernel picks the port: no race with other tests
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium; the test is skipped where Debian's package is not installed."""
    if not CHROMIUM.exists():
        missing(f"Chromium at {CHROMIUM} (Debian package chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def login(page: Page, base: str, name: str, password: str, lands_on: str = "/review") -> None:
    """Sign in through the login form and wait for the page it leads to."""
    page.goto(f"{base}/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}{lands_on}*")


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until ``check()`` holds: the review queue sends a decision a few seconds after it is made (undo time)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
