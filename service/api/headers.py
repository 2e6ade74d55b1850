"""Security headers on every response: what a browser may load into the operator UI, and who may frame it.

The UI's pages load their scripts and styles from this origin only (no inline script), so the Content-Security-
Policy allows ``'self'``; inline ``style`` attributes stay allowed for the dashboard's bars. No page may be framed
by another site (clickjacking of a signed-in operator's review page): ``frame-ancestors 'none'`` and, for older
browsers, ``X-Frame-Options: DENY``. The interactive API docs (``/docs``) load the vendored Swagger UI from this
origin but run an inline script to start it, so they get a policy of their own. HSTS is sent only when the
deployment says it is served over HTTPS (``Settings.hsts_seconds``): sent over plain HTTP it would lock browsers
out of the site.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS = ("/docs",)


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, hsts_seconds: int = 0) -> None:
        self.app = app
        self.fixed = {
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",  # case ids and filters in URLs stay on this site
            "Cross-Origin-Opener-Policy": "same-origin",
        }
        if hsts_seconds:
            self.fixed["Strict-Transport-Security"] = f"max-age={hsts_seconds}; includeSubDomains"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope["path"].startswith(DOCS) else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.fixed.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, with_headers)
