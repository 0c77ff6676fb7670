"""Views: effective_trades (busts and corrections applied) and order_status (each order's latest state)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

SQLite has no exact decimal arithmetic (its SUM of text is a float), so there the view calls
``exact_sum`` / ``exact_vwap``, aggregates the warehouse engine registers on every connection
(exec_pipeline.lib.warehouse). Other SQLite clients get "no such function" instead of a rounded
number; PostgreSQL uses its own exact numeric arithmetic.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRADE_COLUMNS = (
    "trade_time, trade_identifier, order_identifier, account_identifier, asset_identifier, trade_remote_id, "
    "trade_side, quantity, price, currency, commission, commission_asset_identifier, settlement_cost, "
    "settlement_asset_identifier, liquidity, venue, trade_kind, ref_trade_identifier, venue_metadata, "
    "source, extract_id, record_number, partition_key, run_id, reader_name, reader_version, ingested_at"
)

# A fill is effective unless busted; a correction replaces the fill it refers to (the latest
# correction wins) and busting a fill voids its corrections too. One row per original fill,
# carrying the original's identifier in original_trade_identifier.
EFFECTIVE_TRADES = f"""
CREATE VIEW effective_trades AS
WITH busted AS (
    SELECT ref_trade_identifier AS trade_identifier FROM trades_ts WHERE trade_kind = 'bust'
),
chain AS (
    SELECT t.*,
           CASE WHEN t.trade_kind = 'correction' THEN t.ref_trade_identifier ELSE t.trade_identifier END
               AS original_trade_identifier
    FROM trades_ts t
    WHERE t.trade_kind IN ('fill', 'correction')
      AND t.trade_identifier NOT IN (SELECT trade_identifier FROM busted)
),
ranked AS (
    SELECT chain.*,
           ROW_NUMBER() OVER (
               PARTITION BY original_trade_identifier
               ORDER BY CASE WHEN trade_kind = 'correction' THEN 1 ELSE 0 END DESC,
                        trade_time DESC, trade_identifier DESC
           ) AS correction_rank
    FROM chain
    WHERE original_trade_identifier NOT IN (SELECT trade_identifier FROM busted)
)
SELECT {TRADE_COLUMNS}, original_trade_identifier
FROM ranked
WHERE correction_rank = 1
"""


def _order_status(sum_quantity: str, vwap: str, zero: str) -> str:
    return f"""
CREATE VIEW order_status AS
WITH latest AS (
    SELECT e.order_identifier, e.event_time, e.event_type, e.order_status, e.cum_quantity,
           e.leaves_quantity, e.avg_price,
           ROW_NUMBER() OVER (
               PARTITION BY e.order_identifier
               ORDER BY e.event_time DESC, e.partition_key DESC, e.record_number DESC, e.event_identifier DESC
           ) AS recency
    FROM order_events_ts e
    WHERE e.order_status IS NOT NULL
),
fills AS (
    SELECT order_identifier,
           COUNT(*) AS trade_count,
           {sum_quantity} AS filled_quantity,
           {vwap} AS avg_price,
           MAX(trade_time) AS last_trade_time
    FROM effective_trades
    WHERE order_identifier IS NOT NULL
    GROUP BY order_identifier
)
SELECT o.order_identifier, o.order_time, o.source, o.account_identifier, o.asset_identifier,
       o.order_manager_identifier, o.client_order_id, o.order_remote_id, o.order_side,
       o.quantity AS order_quantity, o.limit_price,
       l.order_status, l.event_type AS last_event_type, l.event_time AS last_event_time,
       l.cum_quantity AS reported_cum_quantity, l.leaves_quantity AS reported_leaves_quantity,
       l.avg_price AS reported_avg_price,
       COALESCE(f.trade_count, 0) AS trade_count,
       COALESCE(f.filled_quantity, {zero}) AS filled_quantity,
       f.avg_price,
       f.last_trade_time
FROM orders_ts o
LEFT JOIN latest l ON l.order_identifier = o.order_identifier AND l.recency = 1
LEFT JOIN fills f ON f.order_identifier = o.order_identifier
"""


def upgrade() -> None:
    op.execute(EFFECTIVE_TRADES)
    create_order_status()


def create_order_status() -> None:
    """order_status over whatever effective_trades is (0008 replaces that view)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_order_status("exact_sum(quantity)", "exact_vwap(quantity, price)", "'0'"))
    else:
        op.execute(
            _order_status(
                "SUM(quantity)",
                "SUM(quantity * price) / NULLIF(SUM(CASE WHEN price IS NOT NULL THEN quantity END), 0)",
                "0",
            )
        )


def downgrade() -> None:
    op.execute("DROP VIEW order_status")
    op.execute("DROP VIEW effective_trades")
