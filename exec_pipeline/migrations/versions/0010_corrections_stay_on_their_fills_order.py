"""effective_trades: a correction of a stored fill stays on the fill's order

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25

A broker reports a trade correction on the order as it stands when the correction is made. After
a cancel/replace, FIX reports carry the replacement's ClOrdID 11, and the FIX reader keys orders
on (OrderID 37, ClOrdID 11): a price correction of a fill made before the replace was the
effective trade of the replacement, so ``order_status`` showed the original order with nothing
filled, the replacement with the fill, and a manager of the original order lost it. The fill
happened on its order; a correction changes its quantity or price, not that.

So 0009's part 2 (the corrections that decide their trade) is split in two:

- 2a. the correction of a trade whose original fill is stored: its values, on the fill's order.
  It is reached from the fill (one of the fills that a bust or correction names, found by the
  partial index on ref_trade_identifier), so a filter on an order still reaches trades_ts's order
  index, and PostgreSQL runs the recursive query over busts and corrections only when the order
  has a fill that one of them names;
- 2b. the correction of a trade not stored (or whose references loop): on its own order, as in
  0009.

``TradesTS`` keeps each correction as reported (its own ``order_identifier``); only the view's
reading of it changes. Every other column and row is 0009's (exec_pipeline_tests/warehouse/
test_views.py compares with 0008's definition, the order taken from the stored fill).

A later migration that has to drop and create the views again must create this module's
``EFFECTIVE_TRADES`` (then 0002's ``create_order_status``); 0009's is only this one's downgrade.
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_views = importlib.import_module("exec_pipeline.migrations.versions.0002_views")
_indexed = importlib.import_module("exec_pipeline.migrations.versions.0009_effective_trades_filters_use_indexes")

# 0009's view up to its part 2: the CTEs and part 1 (the fills no bust or correction names) stay
_PART_2 = "UNION ALL\n-- 2. The corrections that decide their trade"
assert _indexed.EFFECTIVE_TRADES.count(_PART_2) == 1
_CTES_AND_FILLS = _indexed.EFFECTIVE_TRADES[: _indexed.EFFECTIVE_TRADES.index(_PART_2)]


def _correction_columns(order_from: str) -> str:
    return ", ".join(
        f"{order_from}.order_identifier" if name == "order_identifier" else f"c.{name}"
        for name in (part.strip() for part in _views.TRADE_COLUMNS.split(","))
    )


EFFECTIVE_TRADES = f"""{_CTES_AND_FILLS}UNION ALL
-- 2a. The corrections that decide a stored fill, on the fill's order: a correction reported after a
--     cancel/replace names the replacement. Reached from the fill (one that a bust or correction
--     names: a probe of the partial index), so an order's filter reaches the order index and the
--     recursive query runs only for an order with such a fill.
SELECT {_correction_columns("f")}, l.original_trade_identifier
FROM trades_ts f
JOIN latest_adjustments l ON l.original_trade_identifier = f.trade_identifier
JOIN trades_ts c ON c.trade_identifier = l.trade_identifier
WHERE f.trade_kind = 'fill'
  AND EXISTS (SELECT 1 FROM trades_ts x WHERE x.ref_trade_identifier = f.trade_identifier)
  AND c.ref_trade_identifier IS NOT NULL AND c.trade_kind = 'correction'
UNION ALL
-- 2b. The corrections that decide a trade not stored as a fill (never stored, or references that
--     loop): on their own order, as in 0009.
SELECT {_correction_columns("c")}, l.original_trade_identifier
FROM trades_ts c
JOIN latest_adjustments l ON l.trade_identifier = c.trade_identifier
WHERE c.ref_trade_identifier IS NOT NULL AND c.trade_kind = 'correction'
  AND NOT EXISTS (
      SELECT 1 FROM trades_ts f WHERE f.trade_identifier = l.original_trade_identifier AND f.trade_kind = 'fill'
  )
"""


def upgrade() -> None:
    op.execute("DROP VIEW order_status")
    op.execute("DROP VIEW effective_trades")
    op.execute(EFFECTIVE_TRADES)
    _views.create_order_status()


def downgrade() -> None:
    op.execute("DROP VIEW order_status")
    op.execute("DROP VIEW effective_trades")
    op.execute(_indexed.EFFECTIVE_TRADES)
    _views.create_order_status()
