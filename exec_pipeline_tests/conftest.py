"""Fixtures for real warehouses: a SQLite file and a PostgreSQL database per test.

PostgreSQL comes from ``EXEC_PIPELINE_TEST_PG_URL`` (default: the loopback server with trust auth).
When it is unreachable the PostgreSQL tests are skipped with the reason, except where
``EXEC_PIPELINE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) or ``CI`` is set: there they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from exec_pipeline.lib import warehouse

PG_ADMIN_URL = os.environ.get("EXEC_PIPELINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("EXEC_PIPELINE_REQUIRE_POSTGRES") == "1" or bool(os.environ.get("CI"))


def _admin_engine() -> Engine:
    return create_engine(warehouse.normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


class PostgresServer:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self) -> None:
        self.admin = _admin_engine()
        self.template: str | None = None

    def url(self, database: str) -> str:
        return make_url(warehouse.normalise_url(PG_ADMIN_URL)).set(database=database).render_as_string(
            hide_password=False
        )

    def create(self, template: str | None = None, options: str = "") -> str:
        """A new database; ``options`` are more CREATE DATABASE options (a locale, say)."""
        name = f"exec_pipeline_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            suffix = f" TEMPLATE {template}" if template else ""
            connection.execute(text(f'CREATE DATABASE "{name}"{suffix} {options}'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def migrated_template(self) -> str:
        """A database at the latest schema, copied for each test (faster than migrating each time)."""
        if self.template is None:
            self.template = self.create()
            engine = warehouse.build_engine(self.url(self.template))
            warehouse.upgrade(engine)
            engine.dispose()
        return self.template


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
        with server.admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no server"
        reason = f"PostgreSQL at {warehouse.redact(PG_ADMIN_URL)} is unreachable: {exc.__class__.__name__}: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} (EXEC_PIPELINE_REQUIRE_POSTGRES/CI is set: PostgreSQL tests must run)")
        pytest.skip(reason)
    yield server
    if server.template:
        server.drop(server.template)
    server.admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of an empty PostgreSQL database (no schema)."""
    name = postgres_server.create()
    yield postgres_server.url(name)
    warehouse.dispose_engines()
    postgres_server.drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path) -> Iterator[str]:
    """URL of a warehouse at the latest schema, on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
        warehouse.dispose_engines()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create(template=server.migrated_template())
    yield server.url(name)
    warehouse.dispose_engines()
    server.drop(name)


@pytest.fixture
def engine(warehouse_url: str) -> Engine:
    """The warehouse engine as the product gets it (SQLite upgrades itself; PostgreSQL is checked)."""
    return warehouse.get_engine(warehouse_url)


@pytest.fixture
def env_warehouse(warehouse_url: str, monkeypatch) -> str:
    """Point EXEC_PIPELINE_WAREHOUSE_URL at the test warehouse (for code that uses the default)."""
    monkeypatch.setenv("EXEC_PIPELINE_WAREHOUSE_URL", warehouse_url)
    return warehouse_url
