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

So 0009's part 2 (the corrections that decide their trade) keeps the corrections on their own
order except those that are *moved*: the deciding correction of a stored fill that has an order
(not NULL: an order-less fill leaves the correction's order) other than the correction's (or the
correction has none: a CSV correction row without order_id), when the
fill's busts and corrections are at most two levels deep (a correction, or a correction of a
correction: what FIX gives when a trade is corrected again in a later file). The moved ones are
a part of their own, found from the fill (or from the correction) by index probes only:

- 2. the corrections that decide their trade and are not moved: 0009's part 2 (driven by the
  correction, so an order's filter reaches its index and PostgreSQL runs the recursive query only
  when the order has a correction), on their own order;
- 3. the moved ones, one level or two below their fill: which correction decides is read off the
  fill's adjustments directly (no bust among them, none later), on the fill's order.

Deeper chains (a third correction of one fill, across files, on another order) stay on the
decider's own order: telling that from the fill would need the recursive query for every order's
query. The review of the first form of this migration (a join of each fill with the ranked
adjustments) measured every one-order query at ~30 ms against 0.4 ms on 1M fills with 15,000
busts and corrections, growing with them: PostgreSQL built the whole ranking before finding that
the order had no adjusted fill. This form, on the same table (median of 5, jit off): one order
without adjustment 1.6 ms (0009: 0.5), with a correction 28 ms (26), an account's 3 hours 48 ms
(45), ``count(*)`` 556 ms (358).

``TradesTS`` keeps each correction as reported (its own ``order_identifier``); only the view's
reading of it changes. Every other column and row is 0009's (exec_pipeline_tests/warehouse/
test_views.py compares with 0008's definition, the order taken from the fill as above).

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


def _shallow(fill: str) -> str:
    """The fill's busts and corrections are at most two levels deep."""
    return f"""NOT EXISTS (
      SELECT 1 FROM trades_ts x
      JOIN trades_ts y ON y.ref_trade_identifier = x.trade_identifier
      JOIN trades_ts z ON z.ref_trade_identifier = y.trade_identifier
      WHERE x.ref_trade_identifier = {fill}.trade_identifier
  )"""


# an adjustment ``a`` that outranks correction ``c`` as the decider: a bust, or a later correction
# (0008/0009's order: trade_time, then trade_identifier)
_OUTRANKS_C = (
    "(a.trade_kind = 'bust' OR a.trade_time > c.trade_time "
    "OR (a.trade_time = c.trade_time AND a.trade_identifier > c.trade_identifier))"
)


def _decides(fill: str) -> str:
    """Correction ``c`` decides the (shallow) fill: none of the fill's adjustments outranks it."""
    return f"""NOT EXISTS (
      SELECT 1 FROM trades_ts a WHERE a.ref_trade_identifier = {fill}.trade_identifier AND {_OUTRANKS_C}
  )
  AND NOT EXISTS (
      SELECT 1 FROM trades_ts x JOIN trades_ts a ON a.ref_trade_identifier = x.trade_identifier
      WHERE x.ref_trade_identifier = {fill}.trade_identifier AND {_OUTRANKS_C}
  )"""


# correction ``c`` is moved: the fill one or two levels above it is stored, shallow, and on
# another order (that order NOT NULL)
_MOVED = f"""EXISTS (
      SELECT 1 FROM trades_ts f
      WHERE f.trade_identifier IN (
              c.ref_trade_identifier,
              (SELECT p.ref_trade_identifier FROM trades_ts p WHERE p.trade_identifier = c.ref_trade_identifier)
            )
        AND f.trade_kind = 'fill' AND f.order_identifier IS NOT NULL
        AND (c.order_identifier IS NULL OR f.order_identifier <> c.order_identifier)
        AND {_shallow("f")}
  )"""

# (c.ref_trade_identifier IS NOT NULL, true of every correction, tells PostgreSQL how few rows the
# partial index on it holds: without it, it estimated the whole table and walked that index)
_MOVED_FROM_THE_FILL = f"""f.trade_kind = 'fill' AND f.order_identifier IS NOT NULL
  AND c.ref_trade_identifier IS NOT NULL AND c.trade_kind = 'correction'
  AND (c.order_identifier IS NULL OR c.order_identifier <> f.order_identifier)
  AND {_shallow("f")}
  AND {_decides("f")}"""

EFFECTIVE_TRADES = f"""{_CTES_AND_FILLS}UNION ALL
-- 2. The corrections that decide their trade (0009's part 2), on their own order unless moved (3.).
SELECT {_correction_columns("c")}, l.original_trade_identifier
FROM trades_ts c
JOIN latest_adjustments l ON l.trade_identifier = c.trade_identifier
WHERE c.ref_trade_identifier IS NOT NULL AND c.trade_kind = 'correction'
  AND NOT {_MOVED}
UNION ALL
-- 3. The moved corrections, on their fill's order: reported on another order (a FIX replacement's
--    ClOrdID), they decide a stored fill whose adjustments are at most two levels deep. Found by
--    index probes from the fill (an order's filter) or from the correction (an account, a time).
SELECT {_correction_columns("f")}, f.trade_identifier AS original_trade_identifier
FROM trades_ts f
JOIN trades_ts c ON c.ref_trade_identifier = f.trade_identifier
WHERE {_MOVED_FROM_THE_FILL}
UNION ALL
SELECT {_correction_columns("f")}, f.trade_identifier AS original_trade_identifier
FROM trades_ts f
JOIN trades_ts p ON p.ref_trade_identifier = f.trade_identifier
JOIN trades_ts c ON c.ref_trade_identifier = p.trade_identifier
WHERE p.ref_trade_identifier IS NOT NULL AND {_MOVED_FROM_THE_FILL}
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
