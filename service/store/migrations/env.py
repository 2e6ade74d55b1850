"""Alembic environment: runs on the connection handed over by ``service.store.db.upgrade``, or on
``sqlalchemy.url`` when called from the alembic command line (``alembic -c service/store/alembic.ini``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from service.store.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.begin() as connection:
        _run(connection)
