"""One JSON shape for every error: ``{"detail": "...", "code": "...", "errors": [...]}`` (``errors`` only for
validation, one item per bad field with its location).

Domain errors map to status codes here, so routes just call the case manager or a repository function:
an illegal lifecycle action is 409, a bad argument 422, a missing thing 404. A database that is down or
unreachable, and a full disk, are a 503 with Retry-After: the client can try again, and nothing was half done
(every write is one transaction, evidence files are written atomically). Anything unexpected is a 500 with no
internals in the body (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NoReturn

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import CaseError, PasswordError, SiteConfigError, UnknownItemError, UserError, UserExists
from domain.lifecycle import IllegalTransition
from service.store.db import is_database_unavailable
from service.store.evidence import is_storage_full

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
_CODES |= {409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "rate_limited"}
_CODES |= {408: "timeout", 503: "unavailable"}
DATABASE_RETRY_AFTER_S = 5
STORAGE_RETRY_AFTER_S = 60


def error_body(
    status: int, detail: str, code: str | None = None, errors: Sequence[Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "code": code or _CODES.get(status, "error")}
    if errors is not None:
        body["errors"] = errors
    return body


def not_found(what: str) -> NoReturn:
    """Raise a 404 naming ``what`` (e.g. "case 12")."""
    raise HTTPException(404, f"no {what}")


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append({"loc": loc, "field": ".".join(p for p in loc if p != "body") or None, "msg": msg})
    return out


def _summary(errors: list[dict[str, Any]]) -> str:
    # Cross-field checks (the site's references) have no location but name the field in their message.
    return "; ".join(f"{e['field']}: {e['msg']}" if e["field"] else e["msg"] for e in errors[:5])


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


def database_unavailable(method: str, path: str, exc: BaseException) -> JSONResponse:
    """The 503 for a request that met a database outage (also used where exception handlers do not reach)."""
    log.warning("database unavailable in %s %s: %s", method, path, _first_line(exc))
    body = error_body(503, "database unavailable; try again shortly", "database_unavailable")
    return _json(503, body, {"Retry-After": str(DATABASE_RETRY_AFTER_S)})


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json(exc.status_code, error_body(exc.status_code, str(exc.detail)), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc.errors())
        return _json(422, error_body(422, _summary(errors), "validation_error", errors))

    @app.exception_handler(ValidationError)
    async def _model_invalid(_: Request, exc: ValidationError) -> JSONResponse:
        errors = _field_errors(exc.errors(include_url=False))
        return _json(422, error_body(422, _summary(errors), "validation_error", errors))

    @app.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return _json(409, error_body(409, str(exc), "illegal_transition"))

    @app.exception_handler(UnknownItemError)
    async def _unknown_item(_: Request, exc: UnknownItemError) -> JSONResponse:
        return _json(404, error_body(404, str(exc)))

    @app.exception_handler(UserExists)
    async def _exists(_: Request, exc: UserExists) -> JSONResponse:
        return _json(409, error_body(409, str(exc), "exists"))

    for kind in (CaseError, SiteConfigError, UserError, PasswordError):

        @app.exception_handler(kind)
        async def _invalid(_: Request, exc: Exception) -> JSONResponse:
            return _json(422, error_body(422, str(exc), "invalid"))

    @app.exception_handler(DBAPIError)
    @app.exception_handler(SQLAlchemyTimeout)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if not is_database_unavailable(exc):
            return await _unexpected(request, exc)
        return database_unavailable(request.method, request.url.path, exc)

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: Exception) -> JSONResponse:
        if not is_storage_full(exc):
            return await _unexpected(request, exc)
        log.error("storage full in %s %s: %s", request.method, request.url.path, exc)
        body = error_body(503, "server storage full; nothing was kept, try again later", "storage_full")
        return _json(503, body, {"Retry-After": str(STORAGE_RETRY_AFTER_S)})

    @app.exception_handler(Exception)  # reached only by errors of the outer middleware (see CatchUnexpected)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_error(request.method, request.url.path, exc)


def unexpected_error(method: str, path: str, exc: BaseException) -> JSONResponse:
    """The 500 for a bug: the traceback to the log, no internals in the body."""
    log.error("unhandled error in %s %s", method, path, exc_info=exc)
    return _json(500, error_body(500, "internal error", "internal"))


class CatchUnexpected:
    """ASGI middleware answering an unexpected error with the JSON 500 and ending the request there.

    Starlette's outermost error middleware sends the 500 of an ``Exception`` handler and then raises the error
    again for the server to log, and uvicorn closes any connection whose application raised: every 500 cost the
    client its keep-alive connection. Caught here, the request ends like any other and the connection serves the
    next one. An error after the response has started still propagates: only closing the connection can end a
    half-sent response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            await unexpected_error(scope["method"], scope["path"], exc)(scope, receive, send)
