"""Raw broker records as json (their text, as read) instead of jsonb on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

``orders_ts.venue_metadata``, ``order_events_ts.event_metadata`` and ``trades_ts.venue_metadata``
hold the broker's record for audit. Stored as jsonb, every row was parsed into jsonb's binary form
on the way in, its fields re-ordered and duplicate keys dropped; as json the server only checks the
text and keeps it as the reader wrote it, fields in the broker's order.

Measured with benchmarks/ingest_benchmark.py's rows (300,000 fills, 770k rows, binary COPY): the
server's CPU for a COPY into the bare tables 6.5-7.3 s with jsonb, 3.4-3.5 s with json; into the
indexed fact tables 13.7-15.0 s and 9.4-10.4 s.

What changes for readers of these columns: ``->``, ``->>``, ``#>>`` and the json functions work
as before (the server parses the text when asked); jsonb-only operators (``@>``, ``?``) need a
``::jsonb`` cast. ``order_manager.metadata_json`` (strategies' own metadata, queried by value)
stays jsonb. SQLite stores JSON as text either way: nothing changes there.

On PostgreSQL the three columns are rewritten (a table rewrite each: plan the upgrade of a large
warehouse like any such migration); the views that select them are dropped and created again.
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RAW_RECORD_COLUMNS = (
    ("orders_ts", "venue_metadata"),
    ("order_events_ts", "event_metadata"),
    ("trades_ts", "venue_metadata"),
)
_views = importlib.import_module("exec_pipeline.migrations.versions.0002_views")


def _retype(type_name: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _views.downgrade()  # a view's column cannot change type under it
    for table, column in RAW_RECORD_COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {type_name} USING {column}::{type_name}")
    _views.upgrade()


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")
