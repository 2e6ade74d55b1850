"""Guessing one account's password from many addresses (issue 14, fault 11): the per-account limit slows the
guesses down without letting the attacker lock the account's owner out.

Each client below is a TestClient with its own address (as a trusted proxy would report it) on one app; the
limits run on a clock the test moves, so the windows' ends are checked without waiting for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.auth.login import ACCOUNT_FAILURES, ACCOUNT_WINDOW_S, LoginLimits, LoginRefused, LoginThrottled, sign_in
from service.core.config import Settings
from tests.service_process import ADMIN_PASSWORD
from vision.detector import Detector

LOGIN = "/api/v1/auth/login"
ADMIN = {"username": "admin", "password": ADMIN_PASSWORD}


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Site:
    app: FastAPI
    clock: Clock

    def login(self, address: str, password: str, username: str = "admin") -> int:
        client = TestClient(self.app, client=(address, 40000))
        return int(client.post(LOGIN, json={"username": username, "password": password}).status_code)


@pytest.fixture
def site(tmp_path: Path, detector: Detector) -> Iterator[Site]:
    settings = Settings(data_dir=tmp_path, model=detector.path, admin_password=SecretStr(ADMIN_PASSWORD))
    app = create_app(settings, detector=detector)
    clock = Clock()
    with TestClient(app) as main:
        app.state.login_limits = LoginLimits.standard(clock)
        admin = {"Authorization": f"Bearer {main.post(LOGIN, json=ADMIN).json()['access_token']}"}
        body = {"name": "viewer1", "role": "viewer", "password": "correct-horse-battery", "grids": []}
        assert main.post("/api/v1/users", json=body, headers=admin).status_code == 201
        yield Site(app, clock)


def test_a_small_pool_of_rotating_addresses_is_stopped_at_the_account_limit(site: Site) -> None:
    pool = [f"203.0.113.{n}" for n in range(4)]  # 4 addresses x 5 a minute would be 20 guesses a minute
    codes = [site.login(pool[n % 4], f"wrong-guess-{n}") for n in range(ACCOUNT_FAILURES + 10)]
    assert codes == [401] * ACCOUNT_FAILURES + [429] * 10, codes
    assert site.login(pool[0], ADMIN_PASSWORD) == 429  # the right guess from the pool is not even checked
    site.clock.now += 61.0  # the per-address minute is over, the account's window is not
    assert {site.login(address, "wrong-again") for address in pool} == {429}
    assert site.login("198.51.100.7", ADMIN_PASSWORD) == 200  # the owner, from an address with no failure
    assert site.login(pool[1], "correct-horse-battery", "viewer1") == 200  # only the attacked account is guarded
    site.clock.now += ACCOUNT_WINDOW_S
    assert site.login(pool[2], "wrong-after-the-window") == 401  # checked again once the failures are old


def test_fresh_addresses_get_one_guess_each_while_the_account_is_guarded(site: Site) -> None:
    for n in range(ACCOUNT_FAILURES):
        assert site.login(f"203.0.113.{n}", f"wrong-guess-{n}") == 401
    fresh = [f"192.0.2.{n}" for n in range(6)]
    assert [site.login(address, "wrong-first") for address in fresh] == [401] * 6  # checked: no lock-out
    assert [site.login(address, "wrong-second") for address in fresh] == [429] * 6  # but only once
    assert site.login("198.51.100.7", ADMIN_PASSWORD) == 200


def test_concurrent_guesses_from_one_address_meet_the_limit_one_by_one(site: Site) -> None:
    store, limits = site.app.state.ctx.store, site.app.state.login_limits

    def guess(n: int) -> str:
        try:
            sign_in(store, limits, "admin", f"wrong-guess-{n}", "203.0.113.9", timedelta(hours=1))
        except (LoginRefused, LoginThrottled) as exc:
            return type(exc).__name__
        return "signed in"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(guess, range(8)))
    assert sorted(outcomes) == ["LoginRefused"] * 5 + ["LoginThrottled"] * 3  # 5 checked (the limit), 3 refused


def test_a_signed_in_owner_clears_the_failures_of_that_address(site: Site) -> None:
    for n in range(3):
        assert site.login("198.51.100.7", f"typo-{n}") == 401
    assert site.login("198.51.100.7", ADMIN_PASSWORD) == 200
    assert [site.login("198.51.100.7", f"typo-again-{n}") for n in range(5)] == [401] * 5  # a fresh five
