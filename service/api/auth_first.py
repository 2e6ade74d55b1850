"""Authentication before the body: an anonymous client cannot make the service read, parse and only then refuse a
body it had no right to send.

FastAPI reads and validates a route's JSON body before it runs the route's dependencies, so the 401 of
:func:`service.api.deps.current_principal` came only after the whole body was parsed. This middleware resolves the
token of every request that carries a body to the API, the sign-in excepted, before the body is read, and answers
401 for a missing, invalid or expired one; the route's own dependency then reuses the principal found here.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.deps import CHALLENGE, resolve_principal
from service.api.errors import database_unavailable, error_body
from service.store.db import is_database_unavailable

# The one API route with a body that anyone may call.
PUBLIC = frozenset({"/api/v1/auth/login"})
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthenticateFirst:
    """ASGI middleware: 401 for an API request with a body and no valid token, before the body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in _BODILESS
            or not scope["path"].startswith("/api/")
            or scope["path"] in PUBLIC
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # headers only: the body is not touched
        try:
            principal = await run_in_threadpool(resolve_principal, request, scope["app"].state.ctx)
            if principal is None:
                raise HTTPException(401, "authentication required", headers=CHALLENGE)
        except HTTPException as exc:
            body = error_body(exc.status_code, str(exc.detail))
            await JSONResponse(body, exc.status_code, headers=exc.headers)(scope, receive, send)
            return
        except (DBAPIError, SQLAlchemyTimeout) as exc:
            # Exception handlers do not reach a middleware: a database outage here is the routes' 503, not a 500.
            if not is_database_unavailable(exc):
                raise
            await database_unavailable(scope["method"], scope["path"], exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)
