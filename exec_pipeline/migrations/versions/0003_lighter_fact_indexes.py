"""Lighter fact tables for bulk loading: no per-row foreign-key trigger, fewer and smaller indexes

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
- order_events_ts and trades_ts: (order_identifier, time) becomes a hash index on order_identifier
  on PostgreSQL (equality lookups and joins by order; a quarter the size of a btree over uuid text,
  so it stays in shared buffers at millions of rows); a plain index on SQLite.
- order_events_ts loses (account_identifier, event_time) and (asset_identifier, event_time): events
  are read by order or by time; account and asset questions go through orders_ts / trades_ts.

At 1M fills (2.57M rows), COPY of ready rows into the fact tables: 55.7 s as of 0002; without the
foreign keys and the lineage indexes ~50 s; order indexes as hash ~45.5 s; with no account / asset /
order indexes at all 31 s (bare tables: 25 s).

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
        for table, time_index in (("order_events_ts", "event_time"), ("trades_ts", "trade_time")):
            op.drop_index(f"ix_{table}_order_identifier_{time_index}", table_name=table)
            op.create_index(f"ix_{table}_order_identifier", table, ["order_identifier"], postgresql_using="hash")
        op.drop_index("ix_order_events_ts_account_identifier_event_time", table_name="order_events_ts")
        op.drop_index("ix_order_events_ts_asset_identifier_event_time", table_name="order_events_ts")

    _without_views(change)


def downgrade() -> None:
    def change() -> None:
        op.create_index("ix_order_events_ts_asset_identifier_event_time", "order_events_ts", ["asset_identifier", "event_time"])
        op.create_index(
            "ix_order_events_ts_account_identifier_event_time", "order_events_ts", ["account_identifier", "event_time"]
        )
        for table, time_index in (("order_events_ts", "event_time"), ("trades_ts", "trade_time")):
            op.drop_index(f"ix_{table}_order_identifier", table_name=table)
            op.create_index(f"ix_{table}_order_identifier_{time_index}", table, ["order_identifier", time_index])
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
