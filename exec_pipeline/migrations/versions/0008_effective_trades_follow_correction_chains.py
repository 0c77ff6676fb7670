"""effective_trades follows chains of corrections (and busts of corrections) to the original fill

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

FIX names a trade corrected more than once by its last correction (ExecRefID 19 = the previous
correction's ExecID). Read in one file, the FIX reader resolves the chain to the fill; across
files a correction's ``ref_trade_identifier`` is the previous correction. The view of 0002 took
that correction for an original: both corrections stayed effective (200 shares of a 100-share
fill), and a bust naming a correction left the fill effective. Now every bust and correction is
resolved through the chain to the trade it finally adjusts (a recursive query over busts and
corrections only, by the partial index on ref_trade_identifier); a bust anywhere in a chain voids
the whole trade, and the latest correction in the chain gives the effective values.

A later migration that has to drop and create the views again must create this module's
``EFFECTIVE_TRADES`` (then 0002's ``create_order_status``), not 0002's.
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_views = importlib.import_module("exec_pipeline.migrations.versions.0002_views")

EFFECTIVE_TRADES = f"""
CREATE VIEW effective_trades AS
WITH RECURSIVE adjustments AS (
    -- busts and corrections, each with the trade it finally adjusts (``root``): first those that
    -- name a fill (or a trade not stored), then those that name one of them, and so on
    -- (busts and corrections are the rows with a ref_trade_identifier: its partial index finds them)
    SELECT a.trade_identifier, a.trade_kind, a.ref_trade_identifier AS root
    FROM trades_ts a
    WHERE a.ref_trade_identifier IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM trades_ts p WHERE p.trade_identifier = a.ref_trade_identifier AND p.trade_kind <> 'fill'
      )
    UNION ALL
    SELECT a.trade_identifier, a.trade_kind, r.root
    FROM trades_ts a
    JOIN adjustments r ON a.ref_trade_identifier = r.trade_identifier
    WHERE a.ref_trade_identifier IS NOT NULL
),
busted AS (
    SELECT root FROM adjustments WHERE trade_kind = 'bust'
),
ranked AS (
    SELECT t.*,
           COALESCE(a.root, t.trade_identifier) AS original_trade_identifier,
           ROW_NUMBER() OVER (
               PARTITION BY COALESCE(a.root, t.trade_identifier)
               ORDER BY CASE WHEN t.trade_kind = 'correction' THEN 1 ELSE 0 END DESC,
                        t.trade_time DESC, t.trade_identifier DESC
           ) AS correction_rank
    FROM trades_ts t
    LEFT JOIN adjustments a ON a.trade_identifier = t.trade_identifier
    WHERE t.trade_kind IN ('fill', 'correction')
      -- NOT EXISTS, not NOT IN: PostgreSQL hashes a NOT IN list only while it fits in work_mem
      AND NOT EXISTS (SELECT 1 FROM busted b WHERE b.root = COALESCE(a.root, t.trade_identifier))
)
SELECT {_views.TRADE_COLUMNS}, original_trade_identifier
FROM ranked
WHERE correction_rank = 1
"""


def upgrade() -> None:
    _views.downgrade()  # order_status reads effective_trades: both go, both come back
    op.execute(EFFECTIVE_TRADES)
    _views.create_order_status()


def downgrade() -> None:
    op.execute("DROP VIEW order_status")
    op.execute("DROP VIEW effective_trades")
    _views.upgrade()
