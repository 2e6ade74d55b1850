"""Users: creation, sign-in, roles and the grids a unit handler is limited to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import UserError, UserExists
from service.auth.passwords import DUMMY_HASH, hash_password, verify_password
from service.core.config import Settings
from service.store.db import open_settings_store
from service.store.models import Grid, Role, User, UserGrid

FIRST_ADMIN = "admin"
CLI_ACTOR = "cli"  # the actor of the audit rows the command line writes: no user may take its name
RESERVED_NAMES = frozenset({CLI_ACTOR})


def _check_grids(session: Session, role: Role, grids: Collection[str]) -> None:
    if role is Role.UNIT_HANDLER and not grids:
        raise UserError("a unit handler needs at least one grid")
    if role is not Role.UNIT_HANDLER and grids:
        raise UserError(f"only unit handlers are limited to grids, not {role}")
    known = set(session.scalars(select(Grid.id).where(Grid.id.in_(grids), Grid.active.is_(True))))
    unknown = sorted(set(grids) - known)
    if unknown:
        raise UserError(f"unknown grid {', '.join(map(repr, unknown))}")


def create_user(
    session: Session, name: str, role: Role, password: str, grids: Collection[str] = (), at: datetime | None = None
) -> User:
    """Add a user; raises :class:`UserExists` or :class:`UserError` (unknown grid, grids for another role)."""
    if name.lower() in RESERVED_NAMES:
        raise UserError(f"the name {name!r} is reserved (the audit log's name for the command line)")
    if session.scalar(select(User.id).where(func.lower(User.name) == name.lower())) is not None:
        raise UserExists(f"user {name!r} already exists")
    _check_grids(session, role, grids)
    user = User(name=name, role=role, password_hash=hash_password(password, name), created_at=at or datetime.now(UTC))
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
    password: str | None = None,
    active: bool | None = None,
) -> User:
    """Change what is given; the role/grid rules of :func:`create_user` hold for the result."""
    new_role = role or Role(user.role)
    new_grids = grids if grids is not None else ([] if role and role is not Role.UNIT_HANDLER else user.grid_ids)
    _check_grids(session, new_role, new_grids)
    user.role = new_role
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


def ensure_first_admin(session: Session, password: str | None) -> User | None:
    """Create the ``admin`` user with ``password`` when the store has no user at all; None otherwise."""
    if password is None or count_users(session):
        return None
    return create_user(session, FIRST_ADMIN, Role.ADMIN, password)


def no_user_hint(settings: Settings) -> str | None:
    """How to create the first user, when the store has none and no GRIDWATCH_ADMIN_PASSWORD is set."""
    if settings.admin_password is not None:
        return None
    store = open_settings_store(settings)
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
