"""Users: creation, sign-in, roles and the unit and grids a unit handler is limited to."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from types import EllipsisType

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import PasswordError, UserError, UserExists
from service.auth.password_policy import check_policy
from service.auth.passwords import DUMMY_HASH, hash_password, verify_password
from service.store.models import Grid, Role, Unit, User, UserGrid

FIRST_ADMIN = "admin"
CLI_ACTOR = "cli"  # the actor of the audit rows the command line writes: no user may take its name
RESERVED_NAMES = frozenset({CLI_ACTOR})


def _check_scope(session: Session, role: Role, grids: Collection[str], unit: str | None) -> None:
    """A unit handler is scoped by its unit, its grids or both (at least one); no other role is scoped."""
    if role is Role.UNIT_HANDLER and not grids and unit is None:
        raise UserError("a unit handler needs its unit or at least one grid")
    if role is not Role.UNIT_HANDLER and (grids or unit is not None):
        raise UserError(f"only unit handlers are limited to grids or a unit, not {role}")
    known = set(session.scalars(select(Grid.id).where(Grid.id.in_(grids), Grid.active.is_(True))))
    unknown = sorted(set(grids) - known)
    if unknown:
        raise UserError(f"unknown grid {', '.join(map(repr, unknown))}")
    if unit is not None and session.scalar(select(Unit.id).where(Unit.id == unit, Unit.active.is_(True))) is None:
        raise UserError(f"unknown unit {unit!r}")


def create_user(
    session: Session,
    name: str,
    role: Role,
    password: str,
    grids: Collection[str] = (),
    at: datetime | None = None,
    unit: str | None = None,
) -> User:
    """Add a user; raises :class:`UserExists` or :class:`UserError` (unknown grid or unit, a scope for another
    role)."""
    if name.lower() in RESERVED_NAMES:
        raise UserError(f"the name {name!r} is reserved (the audit log's name for the command line)")
    if session.scalar(select(User.id).where(func.lower(User.name) == name.lower())) is not None:
        raise UserExists(f"user {name!r} already exists")
    _check_scope(session, role, grids, unit)
    user = User(
        name=name,
        role=role,
        password_hash=hash_password(password, name),
        created_at=at or datetime.now(UTC),
        unit_id=unit,
    )
    user.grids = [UserGrid(grid_id=g) for g in sorted(set(grids))]
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: User,
    *,
    role: Role | None = None,
    grids: Collection[str] | None = None,
    unit: str | EllipsisType | None = ...,
    password: str | None = None,
    active: bool | None = None,
) -> User:
    """Change what is given (``unit=None`` clears the unit, ``...`` keeps it); the scope rules of
    :func:`create_user` hold for the result, and a new role other than unit handler drops grids and unit."""
    new_role = role or Role(user.role)
    dropped = role is not None and role is not Role.UNIT_HANDLER
    new_grids = grids if grids is not None else ([] if dropped else user.grid_ids)
    new_unit = unit if not isinstance(unit, EllipsisType) else (None if dropped else user.unit_id)
    _check_scope(session, new_role, new_grids, new_unit)
    user.role, user.unit_id = new_role, new_unit
    user.grids = [UserGrid(grid_id=g) for g in sorted(set(new_grids))]
    if password is not None:
        user.password_hash = hash_password(password, user.name)
    if active is not None:
        user.active = active
    session.flush()
    return user


def get_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, else None; as slow for an unknown name as for a wrong
    password, so timing does not tell which names exist."""
    user = get_user(session, name)
    ok = verify_password(password, user.password_hash if user else DUMMY_HASH)
    return user if ok and user is not None and user.active else None


@dataclass(frozen=True)
class FirstRun:
    """What start-up did about the first user: ``message`` is for the log (None: nothing to say), and holds a
    generated password, which is shown there once and never stored in the clear."""

    created: bool
    message: str | None


def _random_password() -> str:
    """16 URL-safe random characters (96 bits) that the password policy accepts."""
    while True:
        candidate = secrets.token_urlsafe(12)
        try:
            check_policy(candidate, FIRST_ADMIN)
        except PasswordError:  # a random string that looks like a keyboard run: draw again
            continue
        return candidate


def ensure_first_admin(session: Session, password: str | None) -> FirstRun:
    """On a store with no user, create ``admin`` with ``password`` (GRIDWATCH_ADMIN_PASSWORD) or, without one, a
    random password to print once (as Frigate does), so a newcomer can sign in without reading the manual. On a
    store that has users, a given password is not used, and the message says so."""
    if count_users(session):
        if password is None:
            return FirstRun(False, None)
        return FirstRun(
            False,
            "GRIDWATCH_ADMIN_PASSWORD is set but not used: the store already has users "
            "(an admin changes a password with PATCH /api/v1/users/NAME)",
        )
    if password is not None:
        create_user(session, FIRST_ADMIN, Role.ADMIN, password)
        return FirstRun(True, f"created the first admin user {FIRST_ADMIN!r} from GRIDWATCH_ADMIN_PASSWORD")
    generated = _random_password()
    create_user(session, FIRST_ADMIN, Role.ADMIN, generated)
    return FirstRun(
        True,
        f"created the first admin user {FIRST_ADMIN!r} with the password {generated} (shown only this once: "
        "sign in and change it; set GRIDWATCH_ADMIN_PASSWORD to choose it instead)",
    )
