"""``gridwatch user add`` and ``gridwatch token create|revoke``: managing access from the command line (the
first admin, machine tokens for cameras and photo uploads)."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import timedelta
from typing import Any, TextIO

from service.auth import audit, tokens
from service.auth.principal import Scope
from service.auth.users import count_users, create_user
from service.core.config import Settings
from service.store.db import Store, database_url, open_store
from service.store.models import Role

CLI_ACTOR = "cli"


def _store(settings: Settings) -> Store:
    return open_store(database_url(settings.data_dir, settings.database_url))


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the passwords differ")
    return first


def cmd_user_add(args: argparse.Namespace, out: TextIO) -> int:
    password = _password(args)
    store = _store(Settings())
    try:
        with store.transaction() as session:
            user = create_user(session, args.name, Role(args.role), password, args.grid)
            audit.record(
                session, CLI_ACTOR, "user.create", f"user:{user.name}", {"role": user.role, "grids": args.grid}
            )
    finally:
        store.dispose()
    out.write(f"user {args.name} ({args.role}) created\n")
    return 0


def cmd_token_create(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(Settings())
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


def cmd_token_revoke(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(Settings())
    try:
        with store.transaction() as session:
            token = tokens.get_token(session, args.id)
            if token is None:
                raise ValueError(f"no token {args.id}")
            tokens.revoke(session, token)
            audit.record(session, CLI_ACTOR, "token.revoke", f"token:{token.id}", {"name": token.name})
    finally:
        store.dispose()
    out.write(f"token {args.id} revoked\n")
    return 0


def no_user_hint(settings: Settings) -> str | None:
    """How to create the first user, when the store has none and no GRIDWATCH_ADMIN_PASSWORD is set."""
    if settings.admin_password is not None:
        return None
    store = _store(settings)
    try:
        with store.session() as session:
            if count_users(session):
                return None
    finally:
        store.dispose()
    return (
        "no user can sign in yet: create one with `gridwatch user add admin --role admin`, "
        "or set GRIDWATCH_ADMIN_PASSWORD before starting the service"
    )


def _days(text: str) -> float:
    value = float(text)
    if not 0 < value <= 366:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 366 days, got {text}")
    return value


def add_parsers(sub: Any) -> None:
    """Add ``user`` and ``token`` to the ``gridwatch`` subcommands (``sub``: the subparsers action)."""
    user = sub.add_parser("user", help="manage users who sign in to the service")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a user")
    add.add_argument("name", help="user name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role], help="what the user may do")
    add.add_argument(
        "--grid", action="append", default=[], metavar="G", help="a grid of a unit handler (repeatable, required)"
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (else prompt)")
    add.set_defaults(func=cmd_user_add)

    token = sub.add_parser("token", help="manage API tokens for camera and photo ingest")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create an API token; prints it once")
    create.add_argument("--name", required=True, help="what the token is for, e.g. the camera box")
    create.add_argument("--scope", action="append", choices=[s.value for s in Scope], required=True, help="scope")
    create.add_argument("--days", type=_days, default=90.0, help="lifetime in days (default 90)")
    create.set_defaults(func=cmd_token_create)
    revoke = token_sub.add_parser("revoke", help="revoke an API or session token by id")
    revoke.add_argument("id", type=int, help="token id (see GET /api/v1/tokens)")
    revoke.set_defaults(func=cmd_token_revoke)
