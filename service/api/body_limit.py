"""A bound on every request body: a client may not make the service read and parse megabytes it never asked for.

The uploads (photo batches, handling photos) stream their bodies to disk and keep their own, larger limits
(:mod:`service.batches.ingest`); every other route takes at most ``Settings.max_body_bytes``. A declared
``Content-Length`` over the limit is answered 413 before a byte is read; a chunked body is counted as it arrives
and refused once it passes the limit.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import error_body

# Routes that stream their bodies to disk under their own limits.
UPLOADS = re.compile(r"^/api/v1/(batches|cases/[^/]+/handle)$")


def too_large(limit: int) -> str:
    return f"request body larger than {limit:,} bytes"


class BodyLimit:
    """ASGI middleware refusing bodies over ``limit`` bytes (413) on every route but the uploads."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] == "POST" and UPLOADS.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = JSONResponse(error_body(413, too_large(self.limit)), 413, headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # an HTTPException passes FastAPI's body parsing untouched and becomes the JSON 413
                raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, counted, send)
