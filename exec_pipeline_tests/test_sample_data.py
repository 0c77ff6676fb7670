"""The bundled sample landing zone, ingested by the product's own code, shows what a user should see.

`scripts/dev` points the landing-zone sensor at ``exec_pipeline/sample_data/landing`` with the
sample catalogue. Every (source, business date) folder there is ingested here with
``ingest_partition`` (no mocks, on SQLite and PostgreSQL), then the tables are checked the way a
user would look at them: every format populated, partial fills, a cancel, a replace, a bust, a
correction and a reject present, rejects under the reject-ratio threshold, no overfilled order,
and the asset checks passing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import dagster as dg
import pytest
from sqlalchemy import text

from exec_pipeline.data_nodes.execution import OrderEvents, Orders, OrderStatus, Trades
from exec_pipeline.defs.execution import checks
from exec_pipeline.defs.resources import WarehouseResource
from exec_pipeline.lib import settings
from exec_pipeline.lib.landing import LandingZone
from exec_pipeline.readers.catalogue import load_catalogue
from exec_pipeline.services.ingestion import IngestResult, ingest_partition
from exec_pipeline.services.intents import apply_intent_files, parse_intent_file

LANDING = settings.SAMPLE_DATA_DIR / "landing"
CATALOGUE = settings.SAMPLE_DATA_DIR / "sources.yaml"
DATES = [dt.date(2026, 11, 16), dt.date(2026, 11, 17), dt.date(2026, 11, 18)]
#: the default ``reject_threshold`` of the facts asset's reject_ratio check
REJECT_THRESHOLD = 0.05


def _landing() -> LandingZone:
    return LandingZone(str(LANDING))


def _partitions() -> list[tuple[str, dt.date]]:
    # by the catalogue's sources, as the sensor does (LandingZone.sources() also lists order-managers)
    zone = _landing()
    sources = load_catalogue(CATALOGUE).source_names
    return [(source, day) for source in sources for day, _ in zone.partition_dirs(source)]


def _ingest(engine) -> dict[tuple[str, dt.date], IngestResult]:
    catalogue = load_catalogue(CATALOGUE)
    zone = _landing()
    return {
        (source, day): ingest_partition(source, day, catalogue=catalogue, landing=zone, engine=engine,
                                        run_id="sample-data")
        for source, day in _partitions()
    }


@pytest.fixture
def ingested(engine) -> dict[tuple[str, dt.date], IngestResult]:
    return _ingest(engine)


# --- the landing zone itself (no warehouse) ----------------------------------------------------------


def test_every_catalogue_source_has_extracts_for_every_sample_day():
    catalogue = load_catalogue(CATALOGUE)
    zone = _landing()
    assert set(catalogue.source_names) <= set(zone.sources())
    for source in catalogue.source_names:
        assert [day for day, _ in zone.partition_dirs(source)] == DATES, source
        for day in DATES:
            assert zone.extracts(source, day), (source, day)
    # every format the product reads is demonstrated
    assert {catalogue.source(s).format for s in catalogue.source_names} == {"fix44", "ibkr_flex", "ccxt", "csv"}


def test_fix_logs_show_pipe_soh_and_log_prefixed_messages():
    lines = {
        day: [line for f in _landing().extracts("fixgw", day) for line in _landing().read_bytes(f).splitlines()]
        for day in DATES
    }
    assert all(b"|" in line and b"\x01" not in line for line in lines[DATES[0]])
    assert all(b"\x01" in line and b"|" not in line for line in lines[DATES[1]])
    assert all(not line.startswith(b"8=FIX") and b" 8=FIX.4.4|" in line for line in lines[DATES[2]])


def test_order_manager_intents_name_every_manager_of_the_sample_orders(engine):
    files = list(_landing().intent_files())
    assert files, "no intent file under order-managers/"
    rows = [row for uri, data in files for _, row in parse_intent_file(uri, data)[0]]
    result = apply_intent_files(files, engine=engine)
    assert result.errors == [] and result.applied == len(rows)

    _ingest(engine)
    managers = set(Orders.read(engine=engine)["order_manager_identifier"])
    assert None not in managers, "every sample order resolves to a manager"
    assert managers == {row["unique_identifier"] for row in rows}
    # each manager's orders are in the account its intent targets
    orders = OrderStatus.read(engine=engine)
    for row in rows:
        accounts = set(orders.loc[orders["order_manager_identifier"] == row["unique_identifier"], "account_identifier"])
        assert accounts == {row["target_account_uid"]}, row["unique_identifier"]


# --- what a user sees after the sensor's runs --------------------------------------------------------


def test_every_source_has_orders_events_and_trades(ingested, engine):
    for (source, day), result in ingested.items():
        assert result.summary is not None, (source, day)
        assert not result.unmapped_accounts and not result.unmapped_assets, (source, day)
    sources = set(load_catalogue(CATALOGUE).source_names)
    for node in (Orders, OrderEvents, Trades):
        frame = node.read(engine=engine)
        assert set(frame["source"]) == sources, node.storage_identifier
        assert frame["account_identifier"].notna().all(), node.storage_identifier
        assert not frame["asset_identifier"].str.contains(":").any(), node.storage_identifier  # all mapped
    # every partition contributed facts
    trades = Trades.read(engine=engine)
    assert set(trades["partition_key"]) == {r.partition_key for r in ingested.values()}


def test_busts_corrections_and_order_lifecycles_are_shown(ingested, engine):
    trades = Trades.read(engine=engine)
    kinds = Counter(zip(trades["source"], trades["trade_kind"]))
    assert kinds[("fixgw", "bust")] and kinds[("fixgw", "correction")]
    assert kinds[("acme", "bust")] and kinds[("acme", "correction")]
    assert kinds[("ibkr", "bust")]
    # a bust or correction refers to a fill that is in the warehouse
    fills = set(trades.loc[trades["trade_kind"] == "fill", "trade_identifier"])
    assert set(trades.loc[trades["trade_kind"] != "fill", "ref_trade_identifier"]) <= fills

    events = OrderEvents.read(engine=engine)
    statuses = set(events["order_status"].dropna())
    assert {"new", "partially_filled", "filled", "replaced", "canceled", "rejected", "expired"} <= statuses
    event_types = set(events["event_type"])
    assert {"partially_filled", "filled", "pending_cancel", "pending_replace", "replaced", "trade_cancel",
            "trade_correct"} <= event_types
    # orders that were partially filled and then completed, in every source that can say so (a Flex
    # statement never tells whether an order is done: IBKR fills stay partially_filled)
    for source in ("fixgw", "binance", "acme"):
        mine = events[events["source"] == source]
        partial = set(mine.loc[mine["order_status"] == "partially_filled", "order_identifier"])
        done = set(mine.loc[mine["order_status"] == "filled", "order_identifier"])
        assert partial & done, source

    # the FIX replace chain: momentum/0005 -> 0006 -> 0007, each replacement linked to its predecessor
    orders = Orders.read(engine=engine)
    chain = orders[orders["client_order_id"].isin(["momentum/0006", "momentum/0007"])]
    assert dict(zip(chain["client_order_id"], chain["orig_client_order_id"])) == {
        "momentum/0006": "momentum/0005", "momentum/0007": "momentum/0006"}
    rejected = events[events["order_status"] == "rejected"]
    assert rejected["reason"].notna().all()


def test_rejects_stay_under_the_reject_ratio(ingested, engine):
    total = 0
    for (source, day), result in ingested.items():
        read = result.summary.records_read
        rejects = read.get("rejects", 0)
        total += rejects
        assert rejects / sum(read.values()) < REJECT_THRESHOLD, (source, day, read)
    assert total > 0
    with engine.connect() as connection:
        stored = dict(connection.execute(
            text("SELECT partition_key, COUNT(*) FROM ingest_rejects GROUP BY partition_key")
        ).all())
    assert stored == {"2026-11-17|acme": 1, "2026-11-18|fixgw": 1}


def test_fix_messages_are_well_formed_apart_from_the_one_garbled_report(ingested):
    stats = Counter()
    for (source, _), result in ingested.items():
        if source == "fixgw":
            stats += result.reader_stats
    assert stats["bad_checksum"] == stats["bad_body_length"] == stats["missing_checksum"] == 0
    assert stats["rejects"] == 1
    assert stats["duplicate_resend"] == 1  # the gateway's PossDup resend is stored once


def test_no_order_is_filled_beyond_its_quantity(ingested, engine):
    status = OrderStatus.read(engine=engine)
    assert len(status) == len(Orders.read(engine=engine))
    known = status[status["order_quantity"].notna()]
    assert len(known) > 0
    over = known[known["filled_quantity"] > known["order_quantity"]]
    assert over.empty, over[["source", "client_order_id", "order_quantity", "filled_quantity"]]
    # the open Binance order is still partially filled; the IBKR fill busted a day later is no longer counted
    by_client_id = status.set_index("client_order_id")
    assert by_client_id.loc["momentum-crypto_0205", "order_status"] == "partially_filled"
    assert by_client_id.loc["momentum-ib/0104", "filled_quantity"] == 250


def test_asset_checks_pass(ingested, warehouse_url):
    warehouse = WarehouseResource(url=warehouse_url)
    for check in (checks.trades_reference_known_orders, checks.filled_within_order_quantity,
                  checks.event_sequences_valid, *checks.execution_checks()[3:6]):
        result = check(dg.build_asset_check_context(), warehouse=warehouse)  # no run: every fact
        assert result.passed, (check.check_specs[0].name, result.description, result.metadata["examples"].value)


def test_ingesting_again_changes_nothing(ingested, engine):
    before = {node.storage_identifier: len(node.read(engine=engine)) for node in (Orders, OrderEvents, Trades)}
    again = _ingest(engine)
    assert all(result.skipped_unchanged for result in again.values())
    assert {node.storage_identifier: len(node.read(engine=engine)) for node in (Orders, OrderEvents, Trades)} == before


def test_intent_file_is_a_json_list():
    document = json.loads((LANDING / "order-managers" / "managers.json").read_text())
    assert isinstance(document, list) and all("unique_identifier" in row for row in document)
