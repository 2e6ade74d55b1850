"""``gridwatch serve``: the REST API, the web UI, the camera streams and the photo batches."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from cli.common import Subparsers, add_cluster_flag, port
from service.core.config import Settings

if TYPE_CHECKING:  # uvicorn and the app load only when the server starts
    import uvicorn
    from fastapi import FastAPI

# The largest request head (request line and headers) h11 buffers before refusing the request (400).
MAX_HEADER_BYTES = 16 * 1024


def register(sub: Subparsers) -> None:
    serve = sub.add_parser("serve", help="run the service: REST API, web UI, camera streams and photo batches")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    add_cluster_flag(serve)
    serve.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn

    from service.app import create_app

    settings = Settings()
    if args.cluster is not None:  # the service's background work reads it from its settings
        settings = settings.model_copy(update={"cluster": args.cluster})
    out.write(f"GridWatch on http://{args.host}:{args.port}/ (API docs: http://{args.host}:{args.port}/docs)\n")
    out.flush()
    server = uvicorn.Server(server_config(create_app(settings), args.host, args.port, settings))
    server.run()
    return 0 if server.started else 3  # uvicorn's own exit status for a server that could not start


def server_config(app: FastAPI, host: str, port: int, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves ``app``: which forwarded headers it believes, and how long it waits for slow clients."""
    import uvicorn

    from service.api.header_timeout import with_header_timeout

    # Forwarded headers only from the proxies the operator named: uvicorn's default trusts them from 127.0.0.1, which
    # let any local client pick its own address and slip past the per-address login limit.
    proxies = settings.trusted_proxies.strip()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        http=with_header_timeout(settings.header_timeout_s),  # request bodies: service.api.body_timeout
        timeout_keep_alive=settings.keep_alive_s,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
