"""Signing in: the rate limits, the password check, the new session and its audit entries, in one place
(the API's login route and the web UI's login form both call :func:`sign_in`)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class LoginLimits:
    """Failures per user name and client address, and per address across names (password spraying)."""

    per_name: SlidingWindow
    per_address: SlidingWindow


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: IssuedToken


def sign_in(store: Store, limits: LoginLimits, name: str, password: str, address: str, lifetime: timedelta) -> SignedIn:
    """A new session for ``name``; raises :class:`LoginThrottled` or :class:`LoginRefused`."""
    name_key, address_key = f"{name.casefold()}|{address}", address
    wait = max(limits.per_name.retry_after(name_key) or 0.0, limits.per_address.retry_after(address_key) or 0.0)
    if wait:
        raise LoginThrottled(wait)
    with store.transaction() as session:
        user = authenticate(session, name, password)
        if user is None:
            limits.per_name.hit(name_key)
            limits.per_address.hit(address_key)
            audit.record(session, name[:100], "auth.login_failed", f"user:{name[:64]}", {"address": address})
        else:
            limits.per_name.reset(name_key)
            issued = tokens.issue_session(session, user, lifetime)
            audit.record(session, user.name, "auth.login", f"user:{user.name}", {"address": address})
            return SignedIn(user, issued)
    raise LoginRefused("wrong user name or password")
