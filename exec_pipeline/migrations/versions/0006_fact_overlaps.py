"""Facts observed by several partitions, and partitions asked to publish again

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

A fact is stored once, by its earliest observation. Before this revision a fact that two days'
extracts both held (overlapping statements, a drop copy across midnight) was lost when the day
storing it was re-delivered without it: the other day had never stored it, and its re-runs
skipped as unchanged. ``fact_overlaps`` notes which partitions observed such a fact;
``republish_requests`` holds the partitions that must publish again to bring one back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from exec_pipeline.lib.sqltypes import BytewiseString, UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fact_overlaps",
        sa.Column("table_name", BytewiseString(32), nullable=False),
        sa.Column("identifier", BytewiseString(64), nullable=False),
        sa.Column("partition_key", BytewiseString(96), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "identifier", "partition_key", name=op.f("pk_fact_overlaps")),
    )
    op.create_index(op.f("ix_fact_overlaps_partition_key"), "fact_overlaps", ["partition_key"])
    op.create_table(
        "republish_requests",
        sa.Column("partition_key", BytewiseString(96), nullable=False),
        sa.Column("source", BytewiseString(64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("requested_by", BytewiseString(96), nullable=False),
        sa.Column("facts", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partition_key", name=op.f("pk_republish_requests")),
    )


def downgrade() -> None:
    op.drop_table("republish_requests")
    op.drop_index(op.f("ix_fact_overlaps_partition_key"), table_name="fact_overlaps")
    op.drop_table("fact_overlaps")
