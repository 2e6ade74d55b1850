"""``gridwatch token create|revoke``: machine tokens for cameras and photo uploads."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TextIO

from cli.common import Subparsers
from domain.errors import UsageError
from service.auth import audit, tokens
from service.auth.principal import Scope
from service.auth.users import CLI_ACTOR
from service.core.config import Settings
from service.store.db import open_settings_store


def run_create(args: argparse.Namespace, out: TextIO) -> int:
    store = open_settings_store(Settings())
    try:
        with store.transaction() as session:
            issued = tokens.create_api_token(session, args.name, args.scope, timedelta(days=args.days), CLI_ACTOR)
            details = {"name": args.name, "scopes": args.scope, "expires_at": issued.row.expires_at.isoformat()}
            audit.record(session, CLI_ACTOR, "token.create", f"token:{issued.row.id}", details)
    finally:
        store.dispose()
    sys.stderr.write(
        f"token {issued.row.id} expires {issued.row.expires_at:%Y-%m-%d %H:%M} UTC; it is shown only once\n"
    )
    out.write(issued.value + "\n")
    return 0


def run_revoke(args: argparse.Namespace, out: TextIO) -> int:
    store = open_settings_store(Settings())
    try:
        with store.transaction() as session:
            token = tokens.get_token(session, args.id)
            if token is None:
                raise UsageError(f"no token {args.id}")
            tokens.revoke(session, token)
            audit.record(session, CLI_ACTOR, "token.revoke", f"token:{token.id}", {"name": token.name})
    finally:
        store.dispose()
    out.write(f"token {args.id} revoked\n")
    return 0


def _days(text: str) -> float:
    value = float(text)
    if not 0 < value <= 366:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 366 days, got {text}")
    return value


def register(sub: Subparsers) -> None:
    token = sub.add_parser("token", help="manage API tokens for camera and photo ingest")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create an API token; prints it once")
    create.add_argument("--name", required=True, help="what the token is for, e.g. the camera box")
    create.add_argument("--scope", action="append", choices=[s.value for s in Scope], required=True, help="scope")
    create.add_argument("--days", type=_days, default=90.0, help="lifetime in days (default 90)")
    create.set_defaults(func=run_create)
    revoke = token_sub.add_parser("revoke", help="revoke an API or session token by id")
    revoke.add_argument("id", type=int, help="token id (see GET /api/v1/tokens)")
    revoke.set_defaults(func=run_revoke)
