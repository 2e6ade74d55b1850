"""Opening the store: the database URL, engine settings per backend, and migrations at start-up."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from sqlalchemy.orm import Session, sessionmaker

from service.core.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option asking SQLite for a write transaction from the start (BEGIN IMMEDIATE).
_WRITE_OPTION = "gridwatch_write"
_UNIQUE_VIOLATION = "23505"  # PostgreSQL SQLSTATE
T = TypeVar("T")


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or used right now (server down or restarting, the
    connection dropped, the pool exhausted, SQLite locked or its disk failing), not that the statement is wrong."""
    if isinstance(exc, SQLAlchemyTimeout | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass(frozen=True)
class PoolSettings:
    """Connection pool of a server database (SQLite keeps SQLAlchemy's defaults).

    Every process (CLI, API worker, Ray actor) has its own pool, so the server sees up to
    ``processes * (size + overflow)`` connections: size it against PostgreSQL's ``max_connections``.
    """

    size: int = 5
    overflow: int = 10
    timeout_s: float = 30.0
    recycle_s: int = 1800  # reconnect before a proxy or firewall drops an idle connection
    pre_ping: bool = True  # test a pooled connection before use: survives a database restart


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether a unique constraint or index refused the statement (not a foreign key or check)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _UNIQUE_VIOLATION:
        return True
    return getattr(orig, "sqlite_errorname", None) in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


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

    def write(self, work: Callable[[Session], T], *, attempts: int = 5) -> T:
        """Run ``work`` in a write transaction, from the start again when a unique constraint refused it.

        The constraints decide races between workers: the loser's whole transaction rolls back, and its next
        attempt reads what the winner committed (the same sighting: a duplicate; the same open case: an update).
        ``work`` must touch nothing outside the session, as it may run more than once.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as session:
                    return work(session)
            except IntegrityError as exc:
                if attempt == attempts or not is_unique_violation(exc):
                    raise
        raise ValueError(f"attempts must be at least 1, not {attempts}")

    def lock(self, session: Session, key: str) -> None:
        """Serialise writers on ``key`` until the end of the transaction.

        SQLite write transactions are already serialised (BEGIN IMMEDIATE); PostgreSQL takes a
        transaction-scoped advisory lock, so writers of one violation queue instead of racing. The
        guarantee is the schema's unique indexes with :meth:`write`'s retry; the lock saves the retries
        and covers what no index can express (matching by camera box or by distance).
        """
        if self.is_sqlite:
            return
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:n)"), {"n": number})

    def dispose(self) -> None:
        self.engine.dispose()


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (it holds password hashes and token digests; SQLite gives
    its -wal and -shm files the same mode), and take group and world access from one an older version made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_mode & 0o077:
        with contextlib.suppress(PermissionError):  # another user's file: leave it to its owner
            path.chmod(0o600)


def open_store(url: str, *, migrate: bool = True, echo: bool = False, pool: PoolSettings | None = None) -> Store:
    """Open the store at ``url`` (creating a SQLite file's folder) and upgrade it to the latest schema.

    ``pool`` sizes the connection pool of a server database (default :class:`PoolSettings`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(url, echo=echo)
        _configure_sqlite(engine)
    else:
        pool = pool or PoolSettings()
        engine = create_engine(
            url,
            echo=echo,
            pool_size=pool.size,
            max_overflow=pool.overflow,
            pool_timeout=pool.timeout_s,
            pool_recycle=pool.recycle_s,
            pool_pre_ping=pool.pre_ping,
        )
    if migrate:
        upgrade(engine)
    return Store(engine, sessionmaker(engine, expire_on_commit=False))


def open_settings_store(settings: Settings) -> Store:
    """The store ``settings`` name (``GRIDWATCH_DATABASE_URL``, else the SQLite file in the data folder), migrated,
    with the pool they configure."""
    pool = PoolSettings(
        size=settings.db_pool_size,
        overflow=settings.db_max_overflow,
        timeout_s=settings.db_pool_timeout,
        recycle_s=settings.db_pool_recycle,
        pre_ping=settings.db_pool_pre_ping,
    )
    return open_store(database_url(settings.data_dir, settings.database_url), pool=pool)
