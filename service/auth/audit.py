"""The audit log: who did what to what, and when. Rows are append-only (database triggers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.store.models import AuditEntry


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction."""
    entry = AuditEntry(at=at or datetime.now(UTC), actor=actor, action=action, target=target, details=details or {})
    session.add(entry)
    session.flush()
    return entry


def list_entries(
    session: Session,
    *,
    target: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """A page of entries, newest first, and how many match in all; ``since`` and ``until`` bound ``at`` as
    ``[since, until)``."""
    query = select(AuditEntry)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def distinct_values(session: Session, column: str) -> list[str]:
    """The actors or actions (``column``) the log holds, sorted: the choices of the audit page's filters."""
    field = {"actor": AuditEntry.actor, "action": AuditEntry.action}[column]
    return list(session.scalars(select(field).distinct().order_by(field)))
