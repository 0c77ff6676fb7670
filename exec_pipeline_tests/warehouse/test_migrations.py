"""Schema migrations: from empty to latest, idempotent re-runs, the CLI, and models == migrations."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import String, Text, insert, inspect, select, text

from exec_pipeline.lib import warehouse
from exec_pipeline.models.execution import Base, ExtractFile

TABLES = {"order_manager", "orders_ts", "order_events_ts", "trades_ts", "extract_files", "ingest_rejects", "alembic_version"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite'}"
    return request.getfixturevalue("postgres_database")


def test_upgrade_from_empty_then_rerun_is_a_no_op(empty_url):
    engine = warehouse.build_engine(empty_url)
    before, after = warehouse.upgrade(engine)
    assert (before, after) == (None, warehouse.head_revision())
    assert TABLES <= set(inspect(engine).get_table_names())
    assert warehouse.upgrade(engine) == (after, after)
    engine.dispose()


def test_models_and_migrations_agree(empty_url):
    engine = warehouse.build_engine(empty_url)
    warehouse.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert differences == [], "models changed without a migration: run alembic revision --autogenerate"


def test_the_alembic_command_works_from_the_repository_root(tmp_path):
    """The README's way to write a migration: the alembic CLI finds the scripts through
    [tool.alembic] in pyproject.toml and the warehouse through EXEC_PIPELINE_WAREHOUSE_URL."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "EXEC_PIPELINE_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'scratch.sqlite'}"}

    def alembic(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=root, env=env, capture_output=True, text=True)

    heads = alembic("heads")
    assert heads.returncode == 0, heads.stderr
    assert heads.stdout.split()[0] == warehouse.head_revision()
    behind = alembic("check")  # an empty warehouse: not up to date
    assert behind.returncode != 0 and "not up to date" in behind.stdout + behind.stderr
    assert alembic("upgrade", "head").returncode == 0
    current = alembic("check")  # at head, the models need no new migration
    assert current.returncode == 0, current.stderr
    assert "No new upgrade operations detected" in current.stdout


def test_downgrade_to_empty_and_back(empty_url):
    engine = warehouse.build_engine(empty_url)
    warehouse.upgrade(engine)
    warehouse.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    warehouse.upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_warehouse_upgrades_itself_on_first_use(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'warehouse.sqlite'}"
    engine = warehouse.get_engine(url)
    assert warehouse.current_revision(engine) == warehouse.head_revision()
    warehouse.dispose_engines()


@pytest.mark.postgres
def test_postgres_warehouse_must_be_upgraded_explicitly(postgres_database):
    with pytest.raises(warehouse.WarehouseSchemaError, match="run `exec-pipeline warehouse upgrade`"):
        warehouse.get_engine(postgres_database)


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXEC_PIPELINE_WAREHOUSE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "exec_pipeline.cli", "warehouse", *args], env=env, capture_output=True, text=True, check=False
    )


def test_console_script_upgrade_is_idempotent(empty_url):
    first = _cli(empty_url, "upgrade")
    assert first.returncode == 0, first.stderr
    assert f"upgraded from empty to {warehouse.head_revision()}" in first.stdout
    second = _cli(empty_url, "upgrade")
    assert second.returncode == 0, second.stderr
    assert "already at the latest schema" in second.stdout
    current = _cli(empty_url, "current")
    assert current.returncode == 0 and "up to date" in current.stdout


def test_console_script_hides_passwords_and_reports_errors():
    result = _cli("postgresql://ops:s3cret@127.0.0.1:1/nowhere", "upgrade")
    assert result.returncode == 2
    assert "exec-pipeline: error:" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


# --- identifiers compare byte by byte (0005) -------------------------------------------------------

PARTITION_KEYS = ["b|2026-01-02", "B|2026-01-01", "_x|2026-01-01", "a|2026-01-01", "é|2026-01-01", "Z|2026-01-01"]


def _store_partition_keys(engine) -> None:  # noqa: ANN001
    with engine.begin() as connection:
        connection.execute(
            insert(ExtractFile),
            [
                {"source": key.split("|")[0], "business_date": dt.date(2026, 1, 1), "partition_key": key,
                 "uri": f"file:///{n}", "sha256": f"{n:064d}", "size_bytes": 1, "status": "ingested"}
                for n, key in enumerate(PARTITION_KEYS)
            ],
        )


def _sorted_partition_keys(engine) -> list[str]:  # noqa: ANN001
    with engine.connect() as connection:
        return list(connection.scalars(select(ExtractFile.partition_key).order_by(ExtractFile.partition_key)))


@pytest.fixture
def linguistic_postgres_url(postgres_server) -> Iterator[str]:
    """An empty database whose default collation is a language's (ICU en-US), as many servers have."""
    with postgres_server.admin.connect() as connection:
        version = connection.scalar(text("SELECT current_setting('server_version_num')::int"))
        icu = connection.scalar(text("SELECT count(*) FROM pg_collation WHERE collprovider = 'i'"))
    if version < 150000 or not icu:
        pytest.skip(f"an ICU default collation needs PostgreSQL 15+ built with ICU (server {version}, {icu} ICU collations)")
    name = postgres_server.create(template="template0", options="LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
    yield postgres_server.url(name)
    warehouse.dispose_engines()
    postgres_server.drop(name)


def test_identifiers_sort_by_bytes_on_both_backends(empty_url):
    engine = warehouse.build_engine(empty_url)
    warehouse.upgrade(engine)
    _store_partition_keys(engine)
    assert _sorted_partition_keys(engine) == sorted(PARTITION_KEYS)  # Python sorts str by code point: UTF-8 byte order
    engine.dispose()


@pytest.mark.postgres
def test_identifiers_sort_by_bytes_under_a_linguistic_server_locale(linguistic_postgres_url):
    engine = warehouse.build_engine(linguistic_postgres_url)
    warehouse.upgrade(engine, "0004")
    _store_partition_keys(engine)
    linguistic = _sorted_partition_keys(engine)
    assert linguistic != sorted(PARTITION_KEYS)  # the database's own collation: "a" < "B" < "b"
    warehouse.upgrade(engine)
    assert _sorted_partition_keys(engine) == sorted(PARTITION_KEYS)
    with engine.connect() as connection:  # the views still join the re-collated columns
        assert connection.scalar(text("SELECT count(*) FROM order_status")) == 0
    warehouse.downgrade(engine, "0004")
    assert _sorted_partition_keys(engine) == linguistic
    engine.dispose()


@pytest.mark.postgres
def test_every_model_string_column_is_bytewise_on_postgres(postgres_database):
    engine = warehouse.build_engine(postgres_database)
    warehouse.upgrade(engine)
    with engine.connect() as connection:
        stored = {
            (table, column): collation
            for table, column, collation in connection.execute(
                text(
                    "SELECT c.relname, a.attname, coalesce(co.collname, '') FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
                    "WHERE n.nspname = current_schema() AND a.attnum > 0 AND NOT a.attisdropped"
                )
            )
        }
    engine.dispose()
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Text):  # free text: the database's collation
                assert stored[(table.name, column.name)] == "default", f"{table.name}.{column.name}"
            elif isinstance(column.type, String):
                assert stored[(table.name, column.name)] == "C", f"{table.name}.{column.name}"
