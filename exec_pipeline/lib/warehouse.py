"""Connecting to the execution warehouse (SQLite or PostgreSQL) and keeping its schema current.

One engine per URL per process. SQLite warehouses (the embedded default) bring themselves to the
latest schema on first use; a PostgreSQL warehouse is upgraded explicitly with
``exec-pipeline warehouse upgrade`` and refuses to run against an outdated schema.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from exec_pipeline.lib import settings
from exec_pipeline.lib.sqltypes import ExactSum, ExactVwap, json_dumps


class WarehouseSchemaError(RuntimeError):
    """The warehouse's schema is not the one this code expects."""


def describe_error(exc: BaseException) -> str:
    """A database failure in the database's own words, on one line (no SQL, no parameters)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (the bulk loader needs its COPY)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redact(url: str | Engine) -> str:
    """The URL with its password hidden, for logs and error messages."""
    if isinstance(url, Engine):
        return url.url.render_as_string(hide_password=True)
    return make_url(url).render_as_string(hide_password=True)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks transactional DDL; take it over
    # (SQLAlchemy's documented recipe). BEGIN IMMEDIATE takes the write lock up front, so two
    # writers queue on busy_timeout instead of failing with "database is locked" mid-transaction.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()
        # exact decimal aggregates used by the order_status view (SQLite's own SUM is a float)
        dbapi_connection.create_aggregate("exact_sum", 1, ExactSum)
        dbapi_connection.create_aggregate("exact_vwap", 2, ExactVwap)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def build_engine(url: str) -> Engine:
    """A new engine for ``url`` (no schema check); most callers want :func:`get_engine`."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=json_dumps)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, json_serializer=json_dumps, pool_pre_ping=True)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: ``EXEC_PIPELINE_WAREHOUSE_URL``), schema checked.

    SQLite warehouses are upgraded to the latest schema here; PostgreSQL ones must already be.
    """
    url = normalise_url(url or settings.warehouse_url())
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = build_engine(url)
            if engine.dialect.name == "sqlite":
                upgrade(engine)
            else:
                ensure_current(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, forked processes)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "exec_pipeline:migrations")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the warehouse to ``revision``; returns (before, after). A second call is a no-op."""
    config = _alembic_config()
    with engine.begin() as connection:
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        after = MigrationContext.configure(connection).get_current_revision()
    return before, after or ""


def downgrade(engine: Engine, revision: str) -> None:
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def ensure_current(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise WarehouseSchemaError(
            f"the warehouse at {redact(engine)} is at schema revision {current or 'none (empty)'}, "
            f"this code needs {head}: run `exec-pipeline warehouse upgrade`"
        )


@contextmanager
def session_scope(engine: Engine | None = None, session: Session | None = None) -> Iterator[Session]:
    """Yield ``session`` as is (the caller owns its transaction), or a new one that commits on success."""
    if session is not None:
        yield session
        return
    factory = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
    with factory() as new_session, new_session.begin():
        yield new_session
