"""``gridwatch serve``: the REST API, the web UI, the camera streams and the photo batches."""

from __future__ import annotations

import argparse
from typing import TextIO

from cli.common import Subparsers, add_cluster_flag, port
from service.core.config import Settings


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
    # Forwarded headers only from the proxies the operator named: uvicorn's default trusts them from 127.0.0.1, which
    # let any local client pick its own address and slip past the per-address login limit.
    proxies = settings.trusted_proxies.strip()
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )
    return 0
