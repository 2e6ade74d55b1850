"""``gridwatch user add``: a user who signs in to the service (the first admin among them)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from cli.common import Subparsers
from domain.errors import UsageError
from service.auth import audit
from service.auth.users import CLI_ACTOR, create_user
from service.core.config import Settings
from service.store.db import open_settings_store
from service.store.models import Role


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise UsageError("the passwords differ")
    return first


def run(args: argparse.Namespace, out: TextIO) -> int:
    password = _password(args)
    store = open_settings_store(Settings())
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


def register(sub: Subparsers) -> None:
    user = sub.add_parser("user", help="manage users who sign in to the service")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a user")
    add.add_argument("name", help="user name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role], help="what the user may do")
    add.add_argument(
        "--grid", action="append", default=[], metavar="G", help="a grid of a unit handler (repeatable, required)"
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (else prompt)")
    add.set_defaults(func=run)
