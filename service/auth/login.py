"""Signing in: the rate limits, the password check, the new session and its audit entries, in one place
(the API's login route and the web UI's login form both call :func:`sign_in`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from service.auth import audit, tokens
from service.auth.ratelimit import SlidingWindow
from service.auth.tokens import IssuedToken
from service.auth.users import authenticate
from service.store.db import Store
from service.store.models import User


class LoginRefused(Exception):  # noqa: N818 - reads as the condition it reports
    """Wrong name or password, or an inactive user (deliberately not told apart)."""


class LoginThrottled(Exception):  # noqa: N818
    """Too many recent failures from this client; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after:.0f} s")
        self.retry_after = retry_after


# Failed logins per account and address, and per address across accounts (password spraying), a minute.
FAILURES_PER_MINUTE = 5
FAILURES_PER_MINUTE_PER_ADDRESS = 20
# Failed logins per account across addresses before the account is guarded, and how long a failure counts.
ACCOUNT_FAILURES = 10
ACCOUNT_WINDOW_S = 15 * 60.0


@dataclass(frozen=True)
class LoginLimits:
    """The failed-login counters, all in-process.

    ``per_name`` (account and address) and ``per_address`` refuse an address outright once over their limits.
    ``per_account`` counts an account's failures from every address: past ``ACCOUNT_FAILURES`` within
    ``ACCOUNT_WINDOW_S`` the account is guarded, and then an address that failed on it within that window
    (``failed_from``) is refused too, however few its own failures. An address with no recent failure on the
    account still gets its password checked: the account's owner signs in while an attack runs, and an attacker
    rotating addresses gets one guess per address per window instead of five a minute. No count ever locks an
    account for everyone.
    """

    per_name: SlidingWindow
    per_address: SlidingWindow
    per_account: SlidingWindow
    failed_from: SlidingWindow
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False)

    @classmethod
    def standard(cls, clock: Callable[[], float] = time.monotonic) -> LoginLimits:
        """The service's limits; ``clock`` in seconds."""
        return cls(
            SlidingWindow(FAILURES_PER_MINUTE, 60.0, clock=clock),
            SlidingWindow(FAILURES_PER_MINUTE_PER_ADDRESS, 60.0, clock=clock),
            SlidingWindow(ACCOUNT_FAILURES, ACCOUNT_WINDOW_S, clock=clock),
            SlidingWindow(1, ACCOUNT_WINDOW_S, clock=clock),
        )

    def wait(self, account: str, address: str) -> float | None:
        """Seconds ``address`` must wait before trying ``account`` again, or None."""
        pair = f"{account}|{address}"
        waits = [self.per_name.retry_after(pair), self.per_address.retry_after(address)]
        guarded = self.per_account.retry_after(account)
        failed = self.failed_from.retry_after(pair)
        if guarded is not None and failed is not None:
            waits.append(min(guarded, failed))
        return max((w for w in waits if w is not None), default=None)

    def reserve(self, account: str, address: str) -> None:
        """Count an attempt as a failure before its password is checked (slow), so that concurrent guesses of one
        address cannot all pass the check; :meth:`forgive` takes it back when it was no failure."""
        for window, key in self._keys(account, address):
            window.hit(key)

    def forgive(self, account: str, address: str, *, signed_in: bool) -> None:
        """The reserved attempt was no failure (its check never ran); ``signed_in``: the password was right, and
        the address's earlier failures on the account are forgotten too."""
        for window, key in self._keys(account, address):
            window.undo(key)
        if signed_in:
            self.per_name.reset(f"{account}|{address}")
            self.failed_from.reset(f"{account}|{address}")

    def _keys(self, account: str, address: str) -> list[tuple[SlidingWindow, str]]:
        pair = f"{account}|{address}"
        return [
            (self.per_name, pair),
            (self.per_address, address),
            (self.per_account, account),
            (self.failed_from, pair),
        ]


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: IssuedToken


def sign_in(store: Store, limits: LoginLimits, name: str, password: str, address: str, lifetime: timedelta) -> SignedIn:
    """A new session for ``name``; raises :class:`LoginThrottled` or :class:`LoginRefused`."""
    account = name.casefold()
    with limits.lock:  # check and count together: a burst of concurrent guesses meets the limit one by one
        wait = limits.wait(account, address)
        if wait is not None:
            raise LoginThrottled(wait)
        limits.reserve(account, address)
    user: User | None = None
    checked = False
    try:
        with store.transaction() as session:
            user = authenticate(session, name, password)
            checked = True
            if user is None:
                audit.record(session, name[:100], "auth.login_failed", f"user:{name[:64]}", {"address": address})
            else:
                issued = tokens.issue_session(session, user, lifetime)
                audit.record(session, user.name, "auth.login", f"user:{user.name}", {"address": address})
    finally:
        if user is not None or not checked:  # signed in, or never checked (the database failed): no failure
            with limits.lock:
                limits.forgive(account, address, signed_in=user is not None)
    if user is None:
        raise LoginRefused("wrong user name or password")
    return SignedIn(user, issued)
