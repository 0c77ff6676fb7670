"""The ledger keeps the digest of the catalogue entry each extract was read with

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

A re-run skipped a partition whose extracts and reader version were unchanged, even after the
source's catalogue entry changed (an account or asset mapping fixed, a time zone, CSV columns):
the facts kept the old mapping. ``extract_files.config_digest`` is ``SourceConfig.digest``; a
different one makes the next run of the partition read it again. Rows written before this
revision have none, so each partition reads again once, on its next run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from exec_pipeline.lib.sqltypes import BytewiseString

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("extract_files", sa.Column("config_digest", BytewiseString(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("extract_files") as batch_op:
        batch_op.drop_column("config_digest")
