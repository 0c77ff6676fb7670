"""Asset checks guarding the execution facts.

Blocking checks protect consumers: a failure fails the run that materialized the facts.
``reject_ratio`` lives with the facts asset (it judges that run's extracts, with the run's config).

In a run that materializes the facts, each check judges the run's partitions (those it published
and those it skipped as unchanged, so a retry or a relaunch judges a day again), and for the
per-order rules every fact of the orders those partitions name (an order's fills may span days);
every order when files of those partitions were ever replaced (what a new version dropped, say a
bust, may have balanced another day's fills). So a run's checks cost what the run covers, not the
size of the warehouse, and a bad fact fails the runs of its own days, not every run after it.
Launched on their own (from the UI), or called directly, they judge every fact.
"""


import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy import Connection, TextClause, bindparam, text

from exec_pipeline.defs.execution.assets import FACT_KEYS, PARTITIONS
from exec_pipeline.defs.resources import WarehouseResource
from exec_pipeline.models.execution import MANAGER_TERMINAL_STATUSES

SAMPLE_ROWS = 10


@dataclass(frozen=True)
class Scope:
    """Which facts a check judges: those of the run's partitions, or every fact (no partitions)."""

    partition_keys: tuple[str, ...] | None = None
    #: a partition of the run had files replaced: what the new version dropped (a bust, an event)
    #: may have balanced other days' facts of its orders, so the per-order rules judge every order
    replaced: bool = False

    def partitions(self, alias: str = "") -> str:
        """A condition on a fact table's ``partition_key`` (``alias`` with its dot)."""
        return "1 = 1" if self.partition_keys is None else f"{alias}partition_key IN :partition_keys"

    def orders(self, *tables: str, alias: str = "") -> str:
        """A condition on ``order_identifier``: the orders that ``tables``' facts in scope name."""
        if self.partition_keys is None or self.replaced:
            return "1 = 1"
        named = [
            f"SELECT order_identifier FROM {table} WHERE {self.partitions()} AND order_identifier IS NOT NULL"
            for table in tables
        ]
        if "trades_ts" in tables:
            # and the orders of the fills that busts and corrections in scope adjust, through chains:
            # effective_trades counts a correction on its fill's order, which after a cancel/replace
            # is not the order the correction was reported on
            named.append(f"""SELECT f.order_identifier FROM trades_ts f WHERE f.trade_identifier IN (
                WITH RECURSIVE adjusted(trade_identifier) AS (
                    SELECT ref_trade_identifier FROM trades_ts
                    WHERE {self.partitions()} AND ref_trade_identifier IS NOT NULL
                    UNION
                    SELECT t.ref_trade_identifier FROM trades_ts t
                    JOIN adjusted a ON t.trade_identifier = a.trade_identifier
                    WHERE t.ref_trade_identifier IS NOT NULL
                )
                SELECT trade_identifier FROM adjusted
            ) AND f.order_identifier IS NOT NULL""")
        return f"{alias}order_identifier IN ({' UNION '.join(named)})"

    def statement(self, query: str) -> TextClause:
        statement = text(query)
        if self.partition_keys is not None and ":partition_keys" in query:
            statement = statement.bindparams(bindparam("partition_keys", expanding=True))
        return statement

    @property
    def params(self) -> dict[str, Any]:
        return {} if self.partition_keys is None else {"partition_keys": list(self.partition_keys)}

    @property
    def label(self) -> str:
        if self.partition_keys is None:
            return "every fact"
        if self.replaced:
            return "the run's partitions; every order, as files of theirs were replaced"
        return "the run's partitions"


def scope(context: dg.AssetCheckExecutionContext, connection: Connection) -> Scope:
    """The partitions of ``context``'s run when it is a run of facts partitions (published or
    skipped: a retry, or a relaunch of a day that failed a check, judges it again); else all."""
    try:
        tags = context.run.tags
    except dg.DagsterError:  # invoked directly (a test, a notebook): there is no run
        return Scope()
    if "dagster/partition" in tags:
        keys = [tags["dagster/partition"]]
    elif "dagster/asset_partition_range_start" in tags:
        keys = PARTITIONS.get_partition_keys_in_range(
            dg.PartitionKeyRange(tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"])
        )
    else:
        return Scope()  # launched on its own
    replaced = connection.execute(
        text("SELECT 1 FROM extract_files WHERE status = 'superseded' AND partition_key IN :keys LIMIT 1").bindparams(
            bindparam("keys", expanding=True)
        ),
        {"keys": list(keys)},
    ).first()
    return Scope(tuple(keys), replaced=replaced is not None)


@contextmanager
def _connect(warehouse: WarehouseResource) -> Iterator[Connection]:
    """A read connection for a check. On PostgreSQL without JIT: the per-order plans are costed
    high enough to trigger it, and compiling took ~1.8 s of a check that then ran for 15 ms."""
    with warehouse.engine().connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL jit = off")
        yield connection


def _number(connection: Connection, column: str) -> str:
    # SQLite keeps decimals as text: compare them as numbers (a float is close enough to spot an
    # overfill or a decreasing cumulative quantity); PostgreSQL compares exact numerics.
    return f"CAST({column} AS REAL)" if connection.dialect.name == "sqlite" else column


def _result(
    connection: Connection,
    query: str,
    judged: Scope,
    *,
    what: str,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    rows = connection.execute(judged.statement(query), judged.params).mappings().all()
    return dg.AssetCheckResult(
        passed=not rows,
        severity=severity,
        metadata={
            "violations": len(rows),
            "examples": dg.MetadataValue.json([{k: str(v) for k, v in row.items()} for row in rows[:SAMPLE_ROWS]]),
            "scope": judged.label,
        },
        description=f"{len(rows)} {what} ({judged.label})" if rows else f"no {what} ({judged.label})",
    )


_TERMINAL_MANAGERS = ", ".join(f"'{status}'" for status in sorted(MANAGER_TERMINAL_STATUSES))


@dg.asset_check(
    asset=FACT_KEYS["OrdersTS"],
    description="No order of a manager was placed after the manager ended (completed, cancelled, failed or "
    "expired). Managers complete once every order seen so far is terminal and never move back, so a manager "
    "whose orders go on on a later day shows as ended too early. Warns only: the orders and their fills are "
    "stored; the manager's status and execution_end are what is wrong.",
)
def orders_after_their_manager_ended(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with _connect(warehouse) as connection:
        judged = scope(context, connection)
        return _result(
            connection,
            "SELECT m.unique_identifier AS manager, m.status, m.execution_end, o.order_identifier, o.source, "
            "o.client_order_id, o.order_time FROM orders_ts o "
            "JOIN order_manager m ON m.unique_identifier = o.order_manager_identifier "
            f"WHERE m.status IN ({_TERMINAL_MANAGERS}) AND o.order_time > m.execution_end "
            f"AND {judged.partitions('o.')} ORDER BY m.unique_identifier, o.order_time, o.order_identifier",
            judged,
            what="orders placed after their manager ended",
            severity=dg.AssetCheckSeverity.WARN,
        )


@dg.asset_check(
    asset=FACT_KEYS["TradesTS"],
    description="Every trade that names an order references an order present in OrdersTS. "
    "Warns only: a broker may deliver the order in a later extract.",
)
def trades_reference_known_orders(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with _connect(warehouse) as connection:
        judged = scope(context, connection)
        return _result(
            connection,
            "SELECT t.trade_identifier, t.order_identifier, t.partition_key, t.record_number FROM trades_ts t "
            f"WHERE {judged.orders('trades_ts', alias='t.')} AND t.order_identifier IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM orders_ts o WHERE o.order_identifier = t.order_identifier)",
            judged,
            what="trades referencing unknown orders",
            severity=dg.AssetCheckSeverity.WARN,
        )


@dg.asset_check(
    asset=FACT_KEYS["TradesTS"],
    blocking=True,
    description="Effective filled quantity (busts and corrections applied) never exceeds the order quantity.",
)
def filled_within_order_quantity(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with _connect(warehouse) as connection:
        judged = scope(context, connection)
        orders = judged.orders("orders_ts", "trades_ts", alias="o.")
        if connection.dialect.name == "sqlite":
            # SQLite cannot take an order's filter into effective_trades per order (its recursive
            # part would run once per order): total the view once and join
            filled = "exact_sum(e.quantity)"
            query = f"""
            SELECT o.order_identifier, o.source, o.order_remote_id, o.quantity AS order_quantity,
                   {filled} AS filled_quantity
            FROM orders_ts o JOIN effective_trades e ON e.order_identifier = o.order_identifier
            WHERE o.quantity IS NOT NULL AND {orders}
            GROUP BY o.order_identifier, o.source, o.order_remote_id, o.quantity
            HAVING CAST({filled} AS REAL) > CAST(o.quantity AS REAL)
            ORDER BY o.order_identifier
            """
        else:
            # one order at a time: PostgreSQL takes the order into effective_trades' indexes, so
            # the cost follows the orders in scope, not the warehouse
            query = f"""
            SELECT * FROM (
                SELECT o.order_identifier, o.source, o.order_remote_id, o.quantity AS order_quantity,
                       (SELECT SUM(e.quantity) FROM effective_trades e
                        WHERE e.order_identifier = o.order_identifier) AS filled_quantity
                FROM orders_ts o
                WHERE o.quantity IS NOT NULL AND {orders}
            ) totals
            WHERE filled_quantity > order_quantity
            ORDER BY order_identifier
            """
        return _result(connection, query, judged, what="orders filled beyond their quantity")


@dg.asset_check(
    asset=FACT_KEYS["OrderEventsTS"],
    blocking=True,
    description="Per order, in event order: the cumulative quantity never decreases (except on a bust, "
    "correction or restatement), and no fill follows a terminal status (canceled, rejected, expired, filled).",
)
def event_sequences_valid(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with _connect(warehouse) as connection:
        judged = scope(context, connection)
        cum = _number(connection, "cum_quantity")
        previous_cum = _number(connection, "previous_cum")
        query = f"""
        WITH ordered AS (
            SELECT order_identifier, event_identifier, event_time, event_type, order_status, cum_quantity,
                   LAG(cum_quantity) OVER w AS previous_cum,
                   MAX(CASE WHEN order_status IN ('canceled', 'rejected', 'expired', 'filled') THEN 1 ELSE 0 END)
                       OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS after_terminal
            FROM order_events_ts
            WHERE {judged.orders("order_events_ts")}
            WINDOW w AS (PARTITION BY order_identifier ORDER BY event_time, partition_key, record_number, event_identifier)
        )
        SELECT order_identifier, event_identifier, event_time, event_type, cum_quantity, previous_cum,
               CASE WHEN event_type IN ('partially_filled', 'filled') AND after_terminal = 1
                    THEN 'fill after a terminal status' ELSE 'cumulative quantity decreased' END AS problem
        FROM ordered
        WHERE (event_type IN ('partially_filled', 'filled') AND after_terminal = 1)
           OR (cum_quantity IS NOT NULL AND previous_cum IS NOT NULL AND {cum} < {previous_cum}
               AND event_type NOT IN ('trade_cancel', 'trade_correct', 'restated'))
        ORDER BY order_identifier, event_time
        """
        return _result(connection, query, judged, what="events out of sequence")


def _unique_check(storage_identifier: str, table: str, identifier: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=FACT_KEYS[storage_identifier],
        name=f"{identifier}_unique",
        blocking=True,
        description=f"Each deterministic {identifier} is stored once.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with _connect(warehouse) as connection:
            judged = scope(context, connection)
            in_scope = "1 = 1" if judged.partition_keys is None else (
                f"{identifier} IN (SELECT {identifier} FROM {table} WHERE {judged.partitions()})")
            return _result(
                connection,
                f"SELECT {identifier}, COUNT(*) AS copies FROM {table} WHERE {in_scope} "
                f"GROUP BY {identifier} HAVING COUNT(*) > 1",
                judged,
                what=f"duplicated {identifier}s",
            )

    return _check


def _lineage_check(storage_identifier: str, table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=FACT_KEYS[storage_identifier],
        name="facts_trace_to_ledger",
        blocking=True,
        description="Every fact names an extract in the ledger (extract_files) of its own partition.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        # extract_id is not a declared foreign key (it made bulk loads ~30% slower): checked here
        with _connect(warehouse) as connection:
            judged = scope(context, connection)
            return _result(
                connection,
                f"SELECT f.partition_key, f.extract_id, COUNT(*) AS fact_rows FROM {table} f "
                f"WHERE {judged.partitions('f.')} AND NOT EXISTS (SELECT 1 FROM extract_files e "
                "WHERE e.id = f.extract_id AND e.partition_key = f.partition_key) "
                "GROUP BY f.partition_key, f.extract_id",
                judged,
                what="(partition, extract) pairs whose facts name no ledger row of their partition",
            )

    return _check


class FreshnessConfig(dg.Config):
    max_age_hours: float = Field(default=26.0, gt=0, description="Fail when the last ingest is older than this.")


@dg.asset_check(
    asset=FACT_KEYS["TradesTS"],
    description="The latest partition was ingested recently (extract ledger's last ingest).",
)
def facts_are_fresh(config: FreshnessConfig, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with _connect(warehouse) as connection:
        row = connection.execute(
            text(
                "SELECT partition_key, business_date, last_ingested_at FROM extract_files "
                "WHERE status = 'ingested' ORDER BY last_ingested_at DESC LIMIT 1"
            )
        ).mappings().first()
    if row is None:
        return dg.AssetCheckResult(passed=False, description="nothing has been ingested yet")
    last = row["last_ingested_at"]
    if isinstance(last, str):  # SQLite text through a raw query
        last = dt.datetime.fromisoformat(last).replace(tzinfo=dt.UTC)
    age_hours = (dt.datetime.now(dt.UTC) - last).total_seconds() / 3600
    return dg.AssetCheckResult(
        passed=age_hours <= config.max_age_hours,
        metadata={"last_ingested_at": last.isoformat(), "partition": row["partition_key"], "age_hours": round(age_hours, 2)},
        description=f"last ingest {age_hours:.1f} h ago ({row['partition_key']}); limit {config.max_age_hours} h",
    )


def execution_checks() -> list[dg.AssetChecksDefinition]:
    return [
        trades_reference_known_orders,
        filled_within_order_quantity,
        event_sequences_valid,
        _unique_check("OrdersTS", "orders_ts", "order_identifier"),
        _unique_check("OrderEventsTS", "order_events_ts", "event_identifier"),
        _unique_check("TradesTS", "trades_ts", "trade_identifier"),
        _lineage_check("OrdersTS", "orders_ts"),
        _lineage_check("OrderEventsTS", "order_events_ts"),
        _lineage_check("TradesTS", "trades_ts"),
        facts_are_fresh,
        orders_after_their_manager_ended,
    ]
