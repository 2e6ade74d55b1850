"""Bearer tokens: a random value handed out once, kept only as its sha256, with an expiry and a revocation.

Sessions come from a login and act as their user; API tokens are created by an admin for machines and carry
scopes (``ingest``). A token resolves to a :class:`~service.auth.principal.Principal` only while it is
unexpired, unrevoked and (for a session) its user is active.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.auth.principal import Principal, Scope
from service.store.models import AuthToken, Grid, Role, TokenKind, User

_PREFIX = {TokenKind.SESSION: "gws_", TokenKind.API: "gwt_"}  # tells a leaked value's kind at a glance
MAX_TOKEN_CHARS = 128


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``value`` is shown once and never stored."""

    value: str
    row: AuthToken


def token_hash(value: str) -> str:
    # A plain hash suffices: the value has 256 random bits, so there is nothing to brute-force.
    return hashlib.sha256(value.encode()).hexdigest()


def _issue(session: Session, kind: TokenKind, row: AuthToken) -> IssuedToken:
    value = _PREFIX[kind] + secrets.token_urlsafe(32)
    row.token_hash, row.kind = token_hash(value), kind
    session.add(row)
    session.flush()
    return IssuedToken(value, row)


def issue_session(session: Session, user: User, lifetime: timedelta, now: datetime | None = None) -> IssuedToken:
    """A session token for ``user`` that expires after ``lifetime``."""
    now = now or datetime.now(UTC)
    row = AuthToken(
        user_id=user.id,
        name="login",
        scopes=[],
        created_by=user.name,
        created_at=now,
        expires_at=now + lifetime,
    )
    return _issue(session, TokenKind.SESSION, row)


def create_api_token(
    session: Session,
    name: str,
    scopes: Collection[Scope],
    lifetime: timedelta,
    created_by: str,
    now: datetime | None = None,
) -> IssuedToken:
    """An API token for a machine, limited to ``scopes``."""
    if not scopes:
        raise ValueError("an API token needs at least one scope")
    now = now or datetime.now(UTC)
    row = AuthToken(
        user_id=None,
        name=name,
        scopes=sorted(Scope(s) for s in scopes),
        created_by=created_by,
        created_at=now,
        expires_at=now + lifetime,
    )
    return _issue(session, TokenKind.API, row)


def resolve(session: Session, value: str, now: datetime | None = None) -> Principal | None:
    """The principal behind a presented token, or None when it is unknown, expired, revoked or its user is
    inactive."""
    if not value or len(value) > MAX_TOKEN_CHARS:
        return None
    now = now or datetime.now(UTC)
    row = session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash(value)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.kind == TokenKind.API:
        return Principal(f"token:{row.name}", None, row.id, scopes=frozenset(Scope(s) for s in row.scopes))
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    role = Role(user.role)
    if role is not Role.UNIT_HANDLER:
        return Principal(user.name, role, row.id)
    return _unit_handler(session, user, row.id)


def _unit_handler(session: Session, user: User, token_id: int) -> Principal:
    """A unit handler acts for its own unit and its grids' units, and sees the cameras of its grids and of the
    grids its unit is responsible for."""
    own = [user.unit_id] if user.unit_id is not None else []
    units = {*own, *session.scalars(select(Grid.unit_id).where(Grid.id.in_(user.grid_ids), Grid.unit_id.is_not(None)))}
    grids = {*user.grid_ids, *session.scalars(select(Grid.id).where(Grid.unit_id.in_(own)))}
    return Principal(user.name, Role.UNIT_HANDLER, token_id, grids=frozenset(grids), units=frozenset(map(str, units)))


def get_token(session: Session, token_id: int) -> AuthToken | None:
    return session.get(AuthToken, token_id)


def list_tokens(session: Session, kind: TokenKind | None = None, *, include_inactive: bool = False) -> list[AuthToken]:
    """Tokens, newest first; by default only the ones still usable."""
    query = select(AuthToken).order_by(AuthToken.id.desc())
    if kind is not None:
        query = query.where(AuthToken.kind == kind)
    if not include_inactive:
        query = query.where(AuthToken.revoked_at.is_(None), AuthToken.expires_at > datetime.now(UTC))
    return list(session.scalars(query))


def revoke(session: Session, token: AuthToken, now: datetime | None = None) -> None:
    """Make ``token`` unusable from now on (idempotent)."""
    if token.revoked_at is None:
        token.revoked_at = now or datetime.now(UTC)
        session.flush()


def revoke_user_sessions(session: Session, user: User, now: datetime | None = None) -> None:
    """Sign ``user`` out everywhere."""
    session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
