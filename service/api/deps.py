"""FastAPI dependencies: the open context, a store session, and who is asking (with the access checks).

A request authenticates with ``Authorization: Bearer <token>`` (API clients, ingest machines) or with the
HttpOnly session cookie set by the login (the web UI). Cookie-authenticated writes from another origin are
refused: the cookie is SameSite=Lax already, the Origin check also covers same-site sub-domains.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from service.auth import tokens
from service.auth.principal import Principal, Scope
from service.auth.ratelimit import SlidingWindow
from service.context import Context
from service.store.models import Role

SESSION_COOKIE = "gridwatch_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CHALLENGE = {"WWW-Authenticate": "Bearer"}

log = logging.getLogger(__name__)

ALL_ROLES = tuple(Role)
STAFF = (Role.ADMIN, Role.OPERATOR)  # the supervision centre


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def get_session(ctx: Annotated[Context, Depends(get_ctx)]) -> Iterator[Session]:
    """A read session for the request; writes go through the case manager or ``ctx.store.transaction()``."""
    session = ctx.store.session()
    try:
        yield session
    finally:
        try:
            session.close()
        except (OperationalError, InterfaceError) as exc:
            # The connection died after the answer was made (database restarted, link cut): closing rolls back a
            # read, so nothing is lost; the pool drops the connection. Raising here would hit a sent response.
            log.warning("closing a read session on a lost database connection: %s", str(exc).splitlines()[0])


def _presented_token(request: Request) -> tuple[str | None, bool]:
    """The token of the request and whether it came from the cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HTTPException(401, "malformed Authorization header: use 'Bearer <token>'", headers=CHALLENGE)
        return value.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", request.url.netloc):
        raise HTTPException(403, "cross-origin request with the session cookie refused")


def resolve_principal(request: Request, ctx: Context) -> Principal | None:
    """The principal of the request's token (found once per request, then kept on ``request.state``), None for an
    anonymous request; 401 for an invalid or expired token, 403 for a cross-origin cookie write."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    value, from_cookie = _presented_token(request)
    if value is None:
        return None
    with ctx.store.session() as session:
        principal = tokens.resolve(session, value)
    if principal is None:
        raise HTTPException(401, "invalid, expired or revoked token", headers=CHALLENGE)
    if from_cookie and request.method not in _SAFE_METHODS:
        _check_origin(request)
    request.state.principal = principal  # for the route's dependency, the access log and metrics
    return principal


def optional_principal(request: Request, ctx: Annotated[Context, Depends(get_ctx)]) -> Principal | None:
    """The principal of a valid token, None for an anonymous request; 401 for an invalid or expired token."""
    return resolve_principal(request, ctx)


def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    """Any authenticated principal (user or API token)."""
    if principal is None:
        raise HTTPException(401, "authentication required", headers=CHALLENGE)
    return principal


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting signed-in users with one of ``roles`` (API tokens are not users: 403)."""
    allowed = frozenset(roles)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(403, f"needs role {' or '.join(sorted(allowed))}")
        return principal

    return check


def require_scope(scope: Scope, *, roles: tuple[Role, ...] = STAFF) -> Callable[[Principal], Principal]:
    """A dependency admitting API tokens with ``scope``, and signed-in users with one of ``roles`` (an operator
    uploading patrol photos from the web UI)."""
    allowed = frozenset(roles)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if scope in principal.scopes or principal.role in allowed:
            return principal
        raise HTTPException(403, f"needs a token with scope {scope} or role {' or '.join(sorted(allowed))}")

    return check


def _upload_key(principal: Principal) -> str:
    # A user's sessions share one quota (logging in again must not reset it); each API token has its own.
    return f"user:{principal.name}" if principal.role is not None else f"token:{principal.token_id}"


def limit_uploads(request: Request, principal: Principal) -> None:
    """Count one upload of ``principal``; 429 with Retry-After when it is over ``Settings.upload_rate_limit``."""
    window: SlidingWindow | None = request.app.state.upload_limits
    if window is None:
        return
    wait = window.take(_upload_key(principal))
    if wait is not None:
        seconds = max(math.ceil(wait), 1)
        raise HTTPException(429, f"too many uploads; try again in {seconds} s", headers={"Retry-After": str(seconds)})


CtxDep = Annotated[Context, Depends(get_ctx)]
SessionDep = Annotated[Session, Depends(get_session)]
Authenticated = Annotated[Principal, Depends(current_principal)]
AnyUser = Annotated[Principal, Depends(require_roles(*ALL_ROLES))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Ingest = Annotated[Principal, Depends(require_scope(Scope.INGEST))]
