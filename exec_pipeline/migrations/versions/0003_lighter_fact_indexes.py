"""Lighter fact tables for bulk loading: no per-row foreign-key trigger, fewer index entries per row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Measured on 200,000 fills (benchmarks/ingest_benchmark.py): loading the facts spent ~30% of its
time in the foreign-key trigger from each fact row to extract_files, and two of the eight index
entries written per trade were (extract_id) and (partition_key) alone.

- The fact tables' extract_id stays NOT NULL but is no longer a declared foreign key; the loader
  writes only ids of ledger rows it created in the same transaction, and the asset check
  ``facts_trace_to_ledger`` verifies it (ingest_rejects keeps its foreign key: rejects are few).
- (partition_key) and (extract_id) become one (partition_key, extract_id) index: replacing a
  partition and counting its rows per extract use it.
- trades_ts (ref_trade_identifier) becomes a partial index over busts and corrections only.

SQLite rebuilds a table to drop a foreign key; its views are dropped and created again around it.
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = ("orders_ts", "order_events_ts", "trades_ts")
_views = importlib.import_module("exec_pipeline.migrations.versions.0002_views")


def _without_views(change) -> None:  # noqa: ANN001
    # SQLite checks every view while it renames the rebuilt table back into place
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _views.downgrade()
    change()
    if sqlite:
        _views.upgrade()


def upgrade() -> None:
    def change() -> None:
        for table in FACT_TABLES:
            with op.batch_alter_table(table) as batch_op:
                batch_op.drop_constraint(f"fk_{table}_extract_id_extract_files", type_="foreignkey")
                batch_op.drop_index(f"ix_{table}_extract_id")
                batch_op.drop_index(f"ix_{table}_partition_key")
                batch_op.create_index(f"ix_{table}_partition_key_extract_id", ["partition_key", "extract_id"])
        op.drop_index("ix_trades_ts_ref_trade_identifier", table_name="trades_ts")
        op.create_index(
            "ix_trades_ts_ref_trade_identifier",
            "trades_ts",
            ["ref_trade_identifier"],
            postgresql_where=sa.text("ref_trade_identifier IS NOT NULL"),
            sqlite_where=sa.text("ref_trade_identifier IS NOT NULL"),
        )

    _without_views(change)


def downgrade() -> None:
    def change() -> None:
        op.drop_index("ix_trades_ts_ref_trade_identifier", table_name="trades_ts")
        op.create_index("ix_trades_ts_ref_trade_identifier", "trades_ts", ["ref_trade_identifier"])
        for table in FACT_TABLES:
            with op.batch_alter_table(table) as batch_op:
                batch_op.drop_index(f"ix_{table}_partition_key_extract_id")
                batch_op.create_index(f"ix_{table}_partition_key", ["partition_key"])
                batch_op.create_index(f"ix_{table}_extract_id", ["extract_id"])
                batch_op.create_foreign_key(
                    f"fk_{table}_extract_id_extract_files", "extract_files", ["extract_id"], ["id"]
                )

    _without_views(change)
