"""effective_trades as two plain scans of trades_ts, so that a filter on the views reaches its indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

0008's effective_trades numbered every trade (ROW_NUMBER over all of trades_ts, partitioned by the
trade each one adjusts). A filter on a view goes below a window function only when it is on the
partition key, so ``WHERE order_identifier = ...``, an account's day or a time range scanned and
sorted the whole table on every query, and order_status, which groups effective_trades by order,
with it. The view is now the union of (1) the fills that no bust or correction names, which is one
probe of the partial index on ref_trade_identifier per fill, and (2) the corrections that decide
their trade: of each trade's busts and corrections (only those are ranked, found by that partial
index) a bust first, else the latest correction, 0008's order. Both parts are scans of trades_ts
with no window over them, so the filter goes into both and uses its indexes; PostgreSQL runs the
recursive query over busts and corrections only when the order has a correction. 0008's test for
"names a bust or a correction" (trade_kind <> 'fill') read every fill; it is now
ref_trade_identifier IS NOT NULL, the same rows under ck_trades_ts_ref_trade, which the partial
index answers. The rows are 0008's: the same roots, a correction of a fill never stored still
stands for it, a bust anywhere in a chain voids the trade, a bust or correction in a loop of
references is a trade of its own (exec_pipeline_tests/warehouse/test_views.py compares both
definitions over random days of chains).

Measured on this 2-core machine, PostgreSQL 15, 1,008,700 trades (1M fills over 10 days, 8,700
busts and corrections, some in chains), median of 5, server defaults: one order from
effective_trades 1.84 s -> 37 ms, from order_status 2.20 s -> 55 ms, one account's day (25,000
rows) 2.18 s -> 0.27 s, ``SELECT count(*) FROM effective_trades`` 2.15 s -> 0.31 s, order_status
over every order 2.54 s -> 1.92 s. Most of the 37 ms is JIT compilation: PostgreSQL costs the
recursive query as 10 rounds over every bust and correction, which puts the plan past
jit_above_cost (100,000) once the warehouse holds a few thousand of them, whether the query runs
or not (0008's plans paid it too). With jit off one order takes 1.1 ms (1.41 s before), 16 ms for an order with
a correction (the recursive query and the ranking run then). At 200,000 trades (no JIT) one order
takes 1.0 ms (0.29 s before). SQLite 3.40, 200,000 trades, one run each: one order from
effective_trades 0.79 s -> 29 ms, an account's day 0.75 s -> 28 ms, count(*) 0.84 s -> 0.15 s.
SQLite cannot take an order's filter through order_status's LEFT JOIN into its per-order totals,
so there order_status still totals every order (1.80 s -> 1.26 s for one order): on SQLite,
filter effective_trades directly. order_status itself is unchanged (0002's
``create_order_status``): on PostgreSQL the order's filter reaches effective_trades through it.

A later migration that has to drop and create the views again must create this module's
``EFFECTIVE_TRADES`` (then 0002's ``create_order_status``); 0008's is only this one's downgrade.
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_views = importlib.import_module("exec_pipeline.migrations.versions.0002_views")
_chains = importlib.import_module("exec_pipeline.migrations.versions.0008_effective_trades_follow_correction_chains")


def _columns(alias: str) -> str:
    return ", ".join(f"{alias}.{name.strip()}" for name in _views.TRADE_COLUMNS.split(","))


EFFECTIVE_TRADES = f"""
CREATE VIEW effective_trades AS
WITH RECURSIVE adjustments AS (
    -- busts and corrections, each with the trade it finally adjusts (``root``), as in 0008: first
    -- those that name a fill (or a trade not stored), then those that name one of them, and so on.
    -- Every row here is found by the partial index on ref_trade_identifier. "p is a bust or a
    -- correction" is tested as p.ref_trade_identifier IS NOT NULL, which ck_trades_ts_ref_trade
    -- makes the same as 0008's p.trade_kind <> 'fill', and which that index answers (0008's test
    -- read every fill).
    SELECT a.trade_identifier, a.trade_kind, a.ref_trade_identifier AS root
    FROM trades_ts a
    WHERE a.ref_trade_identifier IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM trades_ts p
          WHERE p.trade_identifier = a.ref_trade_identifier AND p.ref_trade_identifier IS NOT NULL
      )
    UNION ALL
    SELECT a.trade_identifier, a.trade_kind, r.root
    FROM trades_ts a
    JOIN adjustments r ON a.ref_trade_identifier = r.trade_identifier
    WHERE a.ref_trade_identifier IS NOT NULL
),
latest_adjustments AS (
    -- for each trade that has busts or corrections, the one that decides it: a bust if there is
    -- one (the whole trade is void), else its latest correction (trade_time, then
    -- trade_identifier, 0008's order). Ranked among busts and corrections only, never among fills.
    -- A bust or correction outside every chain (its references loop) is a trade of its own, as in
    -- 0008.
    SELECT trade_identifier, original_trade_identifier
    FROM (
        SELECT c.trade_identifier,
               COALESCE(a.root, c.trade_identifier) AS original_trade_identifier,
               ROW_NUMBER() OVER (
                   PARTITION BY COALESCE(a.root, c.trade_identifier)
                   ORDER BY CASE WHEN c.trade_kind = 'bust' THEN 0 ELSE 1 END,
                            c.trade_time DESC, c.trade_identifier DESC
               ) AS adjustment_rank
        FROM trades_ts c
        LEFT JOIN adjustments a ON a.trade_identifier = c.trade_identifier
        WHERE c.ref_trade_identifier IS NOT NULL
    ) ranked
    WHERE adjustment_rank = 1
)
-- Two parts, each a plain scan of trades_ts: a filter on the view (an order, an account, a time
-- range, an identifier) reaches trades_ts's indexes in both.
-- 1. The fills that no bust or correction adjusts, each its own effective trade. A chain's first
--    bust or correction names the fill itself, so this is one probe of the partial index per fill,
--    not a look-up in the CTEs above (for one order, PostgreSQL runs those only when the order has
--    a correction).
SELECT {_columns("t")}, t.trade_identifier AS original_trade_identifier
FROM trades_ts t
WHERE t.trade_kind = 'fill'
  AND NOT EXISTS (SELECT 1 FROM trades_ts x WHERE x.ref_trade_identifier = t.trade_identifier)
UNION ALL
-- 2. The corrections that decide their trade (so it has no bust). ref_trade_identifier IS NOT NULL
--    (every correction has one) lets the partial index find them when nothing else filters.
SELECT {_columns("c")}, l.original_trade_identifier
FROM trades_ts c
JOIN latest_adjustments l ON l.trade_identifier = c.trade_identifier
WHERE c.ref_trade_identifier IS NOT NULL AND c.trade_kind = 'correction'
"""


def upgrade() -> None:
    op.execute("DROP VIEW order_status")
    op.execute("DROP VIEW effective_trades")
    op.execute(EFFECTIVE_TRADES)
    _views.create_order_status()


def downgrade() -> None:
    op.execute("DROP VIEW order_status")
    op.execute("DROP VIEW effective_trades")
    op.execute(_chains.EFFECTIVE_TRADES)
    _views.create_order_status()
