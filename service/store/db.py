"""Opening the store: the database URL, engine settings per backend, and migrations at start-up."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option asking SQLite for a write transaction from the start (BEGIN IMMEDIATE).
_WRITE_OPTION = "gridwatch_write"


def database_url(data_dir: Path, url: str | None) -> str:
    """``url`` when given, else the default SQLite store at ``data_dir/gridwatch.db``."""
    if url:
        return url
    return f"sqlite:///{(data_dir / 'gridwatch.db').resolve()}"


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys and a busy timeout on every connection; explicit BEGINs.

    pysqlite's own implicit BEGIN is switched off so that write transactions can start with
    BEGIN IMMEDIATE: a deferred transaction that later tries to write can fail at once with
    "database is locked" when another writer got there first, whatever the busy timeout.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations; needs no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@dataclass
class Store:
    """An engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        """A session for reading (or for a caller that manages its own transaction)."""
        return self.sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on error, always closed."""
        with self.sessions() as session, session.begin():
            session.connection(execution_options={_WRITE_OPTION: True})
            yield session

    def lock(self, session: Session, key: str) -> None:
        """Serialise writers on ``key`` until the end of the transaction.

        SQLite write transactions are already serialised (BEGIN IMMEDIATE); PostgreSQL takes a
        transaction-scoped advisory lock, so two workers cannot both decide to open the same case.
        """
        if self.is_sqlite:
            return
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:n)"), {"n": number})

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str, *, migrate: bool = True, echo: bool = False) -> Store:
    """Open the store at ``url`` (creating a SQLite file's folder) and upgrade it to the latest schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo)
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True)
    if migrate:
        upgrade(engine)
    return Store(engine, sessionmaker(engine, expire_on_commit=False))
