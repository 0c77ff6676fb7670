"""Identifier and code columns compared byte by byte on PostgreSQL (COLLATE "C")

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

Every varchar column of the warehouse's tables holds an identifier or a code (hash identifiers,
broker ids, account and asset codes, partition keys, vocabularies); see
``exec_pipeline.lib.sqltypes.BytewiseString``. Under the database's locale each comparison in a
btree insert calls ``strcoll``, and PostgreSQL uses abbreviated keys for sorts only under "C".

Measured with benchmarks/ingest_benchmark.py's 1M-fill FIX day (2.57M rows) on this 2-core
machine, PostgreSQL 15, a database in C.UTF-8: the server's CPU for one partition's
``ingest_partition`` went from 52.2-58.9 s (2 runs) to 49.6-51.8 s (3 runs), about 9 %; in an
ICU en-US database 57.1 -> 54.6 s (one run each). Session 4 timed COPY of the ready rows into the
indexed tables on a server with 3 GB of shared_buffers: 40.1-40.5 s -> 35.2 s. The product's wall
time did not move (76-84 s either way): its Python process is the busier side of the pipeline.

What changes for users: ORDER BY on these columns sorts by bytes (what SQLite already did), and
``LIKE 'prefix%'`` can use their btree indexes. Text columns (reasons, errors, uris, raw records)
keep the database's collation.

On PostgreSQL only the collation changes, so the tables are not rewritten, but every index over
these columns is rebuilt (plan the upgrade of a large warehouse like an index rebuild); the views
over them are dropped and created again. SQLite compares bytes already: nothing changes there.
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("order_manager", "extract_files", "ingest_rejects", "orders_ts", "order_events_ts", "trades_ts")
_views = importlib.import_module("exec_pipeline.migrations.versions.0002_views")


def _collate(collation: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    columns = bind.execute(
        sa.text(
            "SELECT table_name, column_name, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY(:tables) "
            "AND data_type = 'character varying' ORDER BY table_name, ordinal_position"
        ),
        {"tables": list(TABLES)},
    ).all()
    by_table: dict[str, list[str]] = {}
    for table, column, length in columns:
        type_name = "varchar" if length is None else f"varchar({length})"
        by_table.setdefault(table, []).append(f"ALTER COLUMN {column} TYPE {type_name} COLLATE {collation}")
    _views.downgrade()  # a view's column cannot change under it
    for table, changes in by_table.items():
        op.execute(f"ALTER TABLE {table} {', '.join(changes)}")  # one statement: each index is rebuilt once
    _views.upgrade()


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')
