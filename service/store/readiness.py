"""Is the store usable: reachable, and migrated to the newest schema this code knows."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.store.db import Store, alembic_config


@dataclass(frozen=True)
class StoreStatus:
    reachable: bool
    current: tuple[str, ...]  # revisions the database is at
    head: tuple[str, ...]  # revisions the code expects
    error: str | None = None

    @property
    def at_head(self) -> bool:
        return self.reachable and set(self.current) == set(self.head)


def store_status(store: Store) -> StoreStatus:
    """Ping the database and compare its Alembic revision with the code's head; never raises for a down DB."""
    head = tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
    try:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = tuple(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        return StoreStatus(False, (), head, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    return StoreStatus(True, current, head)
