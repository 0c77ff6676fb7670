"""Comparing warehouse contents the way a user would: every fact as text, order-independent."""

from __future__ import annotations

from sqlalchemy import Engine

from exec_pipeline.data_nodes.execution import OrderEvents, Orders, Trades

RUN_LINEAGE = ("run_id", "ingested_at")


def fact_snapshot(engine: Engine, *, drop: tuple[str, ...] = RUN_LINEAGE, extract_by_uri: bool = False) -> dict:
    """The three fact tables as sorted tuples of text (NULL as 'None'), minus the ``drop`` columns.

    ``extract_by_uri`` names each row's extract by its URI instead of its ledger id (ids depend on
    the order in which extracts were first seen).
    """
    uris: dict[int, str] = {}
    if extract_by_uri:
        with engine.connect() as connection:
            uris = dict(connection.exec_driver_sql("SELECT id, uri FROM extract_files").all())
    tables = {}
    for node in (Orders, OrderEvents, Trades):
        frame = node.read(engine=engine).drop(columns=list(drop))
        if extract_by_uri:
            frame["extract_id"] = frame["extract_id"].map(uris)
        tables[node.storage_identifier] = sorted(
            tuple(str(value) for value in row) for row in frame.itertuples(index=False)
        )
    return tables
