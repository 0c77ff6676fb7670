"""Schema migrations: from empty to latest, idempotent re-runs, the CLI, and models == migrations."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from exec_pipeline.lib import warehouse
from exec_pipeline.models.execution import Base

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
