"""A time bound on every request body: a client sending its body a byte at a time (slowloris) cannot hold a
connection and a worker forever.

Every route but the uploads takes at most ``Settings.max_body_bytes`` (:mod:`service.api.body_limit`), so its whole
body must arrive within ``seconds`` of the route asking for it. The uploads may be large and sent over a phone's
slow link, and only a signed-in client may send one (:mod:`service.api.auth_first`): for them ``seconds`` bounds
each pause between two pieces of the body. Past the bound the request is answered 408 and the connection closed
(its unread rest would otherwise be the next request). Request headers are bounded in the HTTP server
(:mod:`service.api.header_timeout`).
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.body_limit import UPLOADS


class BodyTimeout:
    """ASGI middleware answering 408 when a request body does not arrive within ``seconds``."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        per_piece = scope["method"] == "POST" and UPLOADS.match(scope["path"]) is not None
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        complete = False

        async def timed() -> Message:
            nonlocal deadline, complete
            if complete:  # after the body, receive() only waits for the client to leave (streamed responses)
                return await receive()
            if deadline is None or per_piece:
                deadline = loop.time() + self.seconds
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                detail = f"request body not received within {self.seconds:g} s"
                raise HTTPException(408, detail, headers={"Connection": "close"}) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed, send)
