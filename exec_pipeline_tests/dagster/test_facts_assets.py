"""Materializing the execution facts through Dagster: partitions, re-runs, ranges, metadata, managers."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import dagster as dg
from sqlalchemy import text

from exec_pipeline.api.execution import OrderManager
from exec_pipeline.data_nodes.execution import OrderStatus, Trades
from exec_pipeline.defs.execution.assets import FACT_KEYS, execution_facts, order_manager_table
from exec_pipeline.lib.warehouse import get_engine
from exec_pipeline_tests.dagster.conftest import order_rows, write_extract
from exec_pipeline_tests.helpers import fact_snapshot

FACTS = [execution_facts]


def run(resources, partition: str | None = None, *, instance, config: dict | None = None, tags=None, assets=None):
    return dg.materialize(
        assets or FACTS,
        partition_key=partition,
        resources=resources,
        instance=instance,
        run_config={"ops": {"execution_facts": {"config": config}}} if config else None,
        tags=tags,
        raise_on_error=False,
    )


def snapshot(engine) -> dict:
    """Every fact and its lineage, with the extract named by URI (ledger ids depend on history)."""
    return fact_snapshot(engine, extract_by_uri=True)


def materializations(result, key: str) -> list[dg.AssetMaterialization]:
    return [
        event.step_materialization_data.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == key
    ]


def write_pairs_intent(landing_root, target_time: str) -> None:
    """The intent file registering manager "pairs" (the one ``order_rows`` orders name)."""
    intents = landing_root / "order-managers"
    intents.mkdir()
    (intents / "pairs.json").write_text(json.dumps([{
        "unique_identifier": "pairs", "target_account_uid": "00000000-0000-0000-0000-000000000004",
        "target_time": target_time}]))


def test_a_partition_materializes_with_lineage_metadata(resources, landing_root, warehouse_url):
    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    with dg.instance_for_test() as instance:
        result = run(resources, "2026-11-17|acme", instance=instance)
    assert result.success
    engine = get_engine(warehouse_url)
    trades = Trades.read(engine=engine)
    assert list(trades["quantity"]) == [Decimal(50), Decimal(50)]
    assert set(trades["partition_key"]) == {"2026-11-17|acme"}
    assert set(trades["run_id"]) == {result.run_id}

    [trades_event] = materializations(result, "execution/TradesTS")
    metadata = trades_event.metadata
    assert trades_event.partition == "2026-11-17|acme"
    assert metadata["dagster/partition_row_count"].value == 2
    assert metadata["dagster/row_count"].value == 2
    [extract] = metadata["extracts"].value.records
    assert extract.data["uri"].endswith("acme/2026-11-17/fills.csv")
    assert len(extract.data["sha256"]) == 64
    assert metadata["readers"].value == {"csv": "1.0.0"} or "csv" in metadata["readers"].value
    assert [c.name for c in metadata["dagster/column_schema"].value.columns][:2] == ["trade_time", "trade_identifier"]
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "reject_ratio" and check.passed


def test_rematerializing_an_unchanged_partition_skips_and_force_republishes(resources, landing_root, warehouse_url):
    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    engine = get_engine(warehouse_url)
    with dg.instance_for_test() as instance:
        first = run(resources, "2026-11-17|acme", instance=instance)
        before = snapshot(engine)
        again = run(resources, "2026-11-17|acme", instance=instance)
        assert snapshot(engine) == before
        [event] = materializations(again, "execution/TradesTS")
        assert event.metadata["partitions_skipped_unchanged"].value == 1
        assert set(Trades.read(engine=engine)["run_id"]) == {first.run_id}

        forced = run(resources, "2026-11-17|acme", instance=instance, config={"force": True})
        assert forced.success
        assert snapshot(engine) == before
        assert set(Trades.read(engine=engine)["run_id"]) == {forced.run_id}


def test_a_changed_catalogue_entry_makes_the_next_run_read_again(resources, landing_root, warehouse_url, tmp_path):
    # found in review: a fixed account mapping never reached days already ingested (re-runs skipped)
    from exec_pipeline.defs.resources import LandingZoneResource
    from exec_pipeline.lib import settings

    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    engine = get_engine(warehouse_url)
    fixed = tmp_path / "sources.yaml"
    fixed.write_text((settings.SAMPLE_DATA_DIR / "sources.yaml").read_text().replace(
        "{PB-77: 00000000-0000-0000-0000-000000000004}", "{PB-77: 00000000-0000-0000-0000-0000000000ff}"))
    with dg.instance_for_test() as instance:
        run(resources, "2026-11-17|acme", instance=instance)
        assert set(Trades.read(engine=engine)["account_identifier"]) == {"00000000-0000-0000-0000-000000000004"}
        resources = {**resources, "landing": LandingZoneResource(url=str(landing_root), sources_path=str(fixed))}
        again = run(resources, "2026-11-17|acme", instance=instance)
        [event] = materializations(again, "execution/TradesTS")
        assert event.metadata["partitions_skipped_unchanged"].value == 0
        assert set(Trades.read(engine=engine)["account_identifier"]) == {"00000000-0000-0000-0000-0000000000ff"}
        unchanged = run(resources, "2026-11-17|acme", instance=instance)
        [event] = materializations(unchanged, "execution/TradesTS")
        assert event.metadata["partitions_skipped_unchanged"].value == 1


def test_a_changed_extract_replaces_the_partition(resources, landing_root, warehouse_url):
    path = write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1", fills=4))
    engine = get_engine(warehouse_url)
    with dg.instance_for_test() as instance:
        run(resources, "2026-11-17|acme", instance=instance)
        assert len(Trades.read(engine=engine)) == 4
        path.write_text(path.read_text().splitlines(keepends=True)[0] + order_rows("2026-11-17", "PB-1", fills=2))
        assert run(resources, "2026-11-17|acme", instance=instance).success
    assert len(Trades.read(engine=engine)) == 2


def test_a_date_range_backfill_runs_once_and_equals_one_partition_at_a_time(resources, landing_root, warehouse_url, tmp_path):
    days = ["2026-11-16", "2026-11-17", "2026-11-18"]
    for n, day in enumerate(days):
        write_extract(landing_root, day, "fills.csv", order_rows(day, f"PB-{n}", fills=n + 1))
    # day 18's file also repeats day 16's order (an overlapping statement)
    write_extract(landing_root, "2026-11-18", "repeat.csv", order_rows("2026-11-16", "PB-0", fills=1))
    engine = get_engine(warehouse_url)
    with dg.instance_for_test() as instance:
        ranged = run(resources, instance=instance, tags={
            "dagster/asset_partition_range_start": "2026-11-16|acme",
            "dagster/asset_partition_range_end": "2026-11-18|acme",
        })
        assert ranged.success
        events = {event.partition: event.metadata for event in materializations(ranged, "execution/TradesTS")}
        assert sorted(events) == [f"{day}|acme" for day in days]
        # each partition's event says what that partition read and owns, not the whole range's
        owned = {key: metadata["dagster/partition_row_count"].value for key, metadata in events.items()}
        assert owned == {"2026-11-16|acme": 1, "2026-11-17|acme": 2, "2026-11-18|acme": 3}
        files = {key: sorted(r.data["uri"].rsplit("/", 2)[-2] + "/" + r.data["uri"].rsplit("/", 1)[-1]
                             for r in metadata["extracts"].value.records) for key, metadata in events.items()}
        assert files == {"2026-11-16|acme": ["2026-11-16/fills.csv"], "2026-11-17|acme": ["2026-11-17/fills.csv"],
                         "2026-11-18|acme": ["2026-11-18/fills.csv", "2026-11-18/repeat.csv"]}
        assert {metadata["partitions"].value for metadata in events.values()} == {3}
        assert events["2026-11-18|acme"]["duplicates_not_stored"].value == 1  # day 16's fill, seen again
        ranged_state = snapshot(engine)
        # one partition at a time, in reverse order, from scratch
        for table in ("ingest_rejects", "trades_ts", "order_events_ts", "orders_ts", "extract_files"):
            with engine.begin() as connection:
                connection.exec_driver_sql(f"DELETE FROM {table}")
        for day in reversed(days):
            assert run(resources, f"{day}|acme", instance=instance).success
    assert snapshot(engine) == ranged_state
    assert len(Trades.read(engine=engine)) == 1 + 2 + 3


def test_an_unreadable_extract_fails_the_partition_and_leaves_the_tables(resources, landing_root, warehouse_url):
    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    engine = get_engine(warehouse_url)
    with dg.instance_for_test() as instance:
        assert run(resources, "2026-11-17|acme", instance=instance).success
        before = snapshot(engine)
        bad = landing_root / "acme" / "2026-11-17" / "broken.csv"
        bad.write_bytes(b"no,header,we,know\n1,2,3,4\n")
        result = run(resources, "2026-11-17|acme", instance=instance)
    assert not result.success
    failure = result.failure_data_for_node("execution_facts")
    assert "broken.csv" in str(failure.error)
    assert snapshot(engine) == before
    with engine.connect() as connection:
        status, error = connection.execute(
            text("SELECT status, error FROM extract_files WHERE uri LIKE :pattern"), {"pattern": "%/broken.csv"}).one()
    assert status == "failed" and "broken.csv" in error


def partition_statuses(instance, key: dg.AssetKey | str) -> tuple[set[str], set[str]]:
    """(materialized, failed) partitions of an asset, as the UI shows them (Dagster's status cache)."""
    from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

    asset_key = dg.AssetKey.from_user_string(key) if isinstance(key, str) else key
    partitions_def = execution_facts.specs_by_key[asset_key].partitions_def
    status = get_and_update_asset_status_cache_value(instance, asset_key, partitions_def)
    return (set(status.deserialize_materialized_partition_subsets(partitions_def).get_partition_keys()),
            set(status.deserialize_failed_partition_subsets(partitions_def).get_partition_keys()))


def test_a_failed_partition_neither_stops_nor_hides_the_others_of_a_range_run(resources, landing_root, warehouse_url):
    # found in review: one unreadable file on day 17 of a backfill stopped the run there, so day 18
    # was never read, and day 16, committed, was shown as failed with its managers never moved
    write_pairs_intent(landing_root, "2026-11-16T07:55:00+00:00")
    days = ["2026-11-16", "2026-11-17", "2026-11-18"]
    for n, day in enumerate(days):
        write_extract(landing_root, day, "fills.csv", order_rows(day, f"PB-{n}"))
    broken = landing_root / "acme" / "2026-11-17" / "broken.csv"
    broken.write_bytes(b"no,header,we,know\n1,2,3,4\n")
    engine = get_engine(warehouse_url)
    ranged_tags = {"dagster/asset_partition_range_start": "2026-11-16|acme",
                   "dagster/asset_partition_range_end": "2026-11-18|acme"}
    with dg.instance_for_test() as instance:
        assert dg.materialize([order_manager_table], resources=resources, instance=instance).success
        ranged = run(resources, instance=instance, tags=ranged_tags)
        assert not ranged.success
        error = str(ranged.failure_data_for_node("execution_facts").error)
        assert "2 of 3 partitions materialized" in error and "2026-11-17|acme: " in error and "broken.csv" in error
        assert "the asset checks did not run: launch the whole range again" in error

        assert set(Trades.read(engine=engine)["partition_key"]) == {"2026-11-16|acme", "2026-11-18|acme"}
        for key in FACT_KEYS.values():
            assert partition_statuses(instance, key) == ({"2026-11-16|acme", "2026-11-18|acme"}, {"2026-11-17|acme"})
        [event] = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey.from_user_string("execution/TradesTS"),
                                  asset_partitions=["2026-11-18|acme"]), limit=5).records
        metadata = event.asset_materialization.metadata
        assert event.run_id == ranged.run_id
        assert metadata["dagster/partition_row_count"].value == 2 and metadata["partitions_failed"].value == 1
        assert [r.data["uri"].rsplit("/", 1)[-1] for r in metadata["extracts"].value.records] == ["fills.csv"]
        assert event.asset_materialization.tags["dagster/partition/date"] == "2026-11-18"
        # the run's rejects are judged all the same (day 17's file never got that far)
        [reject_ratio] = ranged.get_asset_check_evaluations()
        assert reject_ratio.check_name == "reject_ratio"
        # days 16 and 18, 3 rows each: an order, 3 events and 2 trades a day
        assert reject_ratio.metadata["records_read"].value == 2 * (1 + 3 + 2)
        # the published days moved the manager (both its orders are filled)
        assert OrderManager.get_by_unique_identifier("pairs", engine=engine).status == "completed"

        # the file is fixed: the next range run publishes day 17 and skips the two others
        broken.unlink()
        again = run(resources, instance=instance, tags=ranged_tags)
        assert again.success
        [event] = [e for e in materializations(again, "execution/TradesTS") if e.partition == "2026-11-17|acme"]
        assert event.metadata["partitions_skipped_unchanged"].value == 2
        for key in FACT_KEYS.values():
            assert partition_statuses(instance, key) == (
                {"2026-11-16|acme", "2026-11-17|acme", "2026-11-18|acme"}, set())
    assert set(Trades.read(engine=engine)["partition_key"]) == {f"{day}|acme" for day in days}


def test_a_single_partition_run_fails_with_the_partition_s_own_error(resources, landing_root):
    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    (landing_root / "acme" / "2026-11-17" / "broken.csv").write_bytes(b"no,header,we,know\n1,2,3,4\n")
    with dg.instance_for_test() as instance:
        result = run(resources, "2026-11-17|acme", instance=instance)
        assert not result.success
        error = result.failure_data_for_node("execution_facts").error
        # the partition's own exception, not a wrapper of it
        assert error.cls_name == "DagsterExecutionStepExecutionError"
        assert error.cause.cls_name == "ExtractUnreadable" and "broken.csv" in error.cause.message
        assert partition_statuses(instance, "execution/TradesTS") == (set(), {"2026-11-17|acme"})


def test_intents_register_managers_and_facts_move_them(resources, landing_root, warehouse_url):
    intents = landing_root / "order-managers"
    intents.mkdir()
    (intents / "pairs.json").write_text(json.dumps([{
        "unique_identifier": "pairs", "target_account_uid": "00000000-0000-0000-0000-000000000004",
        "target_time": "2026-11-17T07:55:00+00:00", "strategy_identifier": "pairs-trading"}]))
    (intents / "more.csv").write_text(
        "unique_identifier,target_account_uid,target_time\nidle,00000000-0000-0000-0000-000000000004,2026-11-17T07:00:00Z\n")
    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    engine = get_engine(warehouse_url)
    with dg.instance_for_test() as instance:
        registry = dg.materialize([order_manager_table], resources=resources, instance=instance)
        assert registry.success
        [event] = materializations(registry, "execution/OrderManagerTable")
        assert event.metadata["managers_by_status"].value["created"] == 2
        assert run(resources, "2026-11-17|acme", instance=instance).success
    assert OrderManager.get_by_unique_identifier("pairs", engine=engine).status == "completed"
    assert OrderManager.get_by_unique_identifier("idle", engine=engine).status == "created"
    status = OrderStatus.read(engine=engine)
    assert list(status["order_manager_identifier"]) == ["pairs"]
    assert status.iloc[0]["filled_quantity"] == Decimal(100)


def test_managers_registered_after_their_facts_catch_up(resources, landing_root, warehouse_url):
    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    write_pairs_intent(landing_root, "2026-11-17T07:55:00+00:00")
    with dg.instance_for_test() as instance:
        assert run(resources, "2026-11-17|acme", instance=instance).success  # no manager registered yet
        assert dg.materialize([order_manager_table], resources=resources, instance=instance).success
    assert OrderManager.get_by_unique_identifier("pairs", engine=get_engine(warehouse_url)).status == "completed"


def test_a_manager_moves_when_a_later_day_finishes_its_order(resources, landing_root, warehouse_url):
    # the order is stored by the day that first saw it; the fill that finishes it comes a day later
    write_pairs_intent(landing_root, "2026-11-17T07:55:00+00:00")
    new, first_fill, last_fill = order_rows("2026-11-17", "PB-1").splitlines(keepends=True)
    write_extract(landing_root, "2026-11-17", "fills.csv", new + first_fill)
    write_extract(landing_root, "2026-11-18", "fills.csv", last_fill.replace("2026-11-17", "2026-11-18"))
    engine = get_engine(warehouse_url)
    with dg.instance_for_test() as instance:
        assert dg.materialize([order_manager_table], resources=resources, instance=instance).success
        assert run(resources, "2026-11-17|acme", instance=instance).success
        assert OrderManager.get_by_unique_identifier("pairs", engine=engine).status == "executing"
        second = run(resources, "2026-11-18|acme", instance=instance)
    assert second.success
    [status] = OrderStatus.read(engine=engine).to_dict("records")
    assert status["order_status"] == "filled" and status["filled_quantity"] == Decimal(100)
    manager = OrderManager.get_by_unique_identifier("pairs", engine=engine)
    assert manager.status == "completed"
    assert manager.execution_end == dt.datetime(2026, 11, 18, 8, 2, tzinfo=dt.UTC)
    [event] = materializations(second, "execution/OrdersTS")
    assert event.metadata["managers_moved"].value == {"pairs": "executing -> completed"}


def test_a_bad_intent_row_stops_none_of_the_rows_after_it(resources, landing_root, warehouse_url):
    intents = landing_root / "order-managers"
    intents.mkdir()
    account = "00000000-0000-0000-0000-000000000004"
    (intents / "intents.csv").write_text(
        "unique_identifier,target_account_uid,target_time,metadata_json\n"
        f'alpha,{account},2026-11-17T07:00:00Z,"{{""k"": 1,\n""note"": ""two lines""}}"\n'
        "\n"
        f"beta,{account},2026-11-17T07:00:00Z,{{broken\n"
        f"{'x' * 256},{account},2026-11-17T07:00:00Z,\n"
        f'gamma,{account},2026-11-17T07:00:00Z,"{{""k"": 3}}"\n'
    )
    # found in review: PostgreSQL stores no NUL character; the row failed the whole intent run there
    (intents / "more.json").write_text(json.dumps([
        {"unique_identifier": "delta", "target_account_uid": account, "target_time": "2026-11-17T07:00:00Z",
         "metadata_json": {"note": "a\u0000b"}},
        {"unique_identifier": "epsilon", "target_account_uid": account, "target_time": "2026-11-17T07:00:00Z"},
        # valid JSON, but a lone UTF-16 surrogate: no warehouse stores it
        {"unique_identifier": "zeta", "target_account_uid": account, "target_time": "2026-11-17T07:00:00Z",
         "metadata_json": {"note": "a\ud800b"}},
        {"unique_identifier": "eta", "target_account_uid": account, "target_time": "2026-11-17T07:00:00Z"},
    ]))
    with dg.instance_for_test() as instance:
        result = dg.materialize([order_manager_table], resources=resources, instance=instance, raise_on_error=False)
    assert not result.success
    message = str(result.failure_data_for_node("execution__OrderManagerTable").error)
    # rows are named by the line they start on (alpha's cell spans lines 2-3, line 4 is blank)
    assert "intents.csv, row 5, field metadata_json: not JSON" in message
    assert "intents.csv, row 6, field unique_identifier" in message and "255" in message
    assert "more.json, row 1, field metadata_json" in message and "NUL" in message
    assert "more.json, row 3, field metadata_json" in message and "surrogate" in message
    engine = get_engine(warehouse_url)
    assert OrderManager.get_by_unique_identifier("gamma", engine=engine).metadata_json == {"k": 3}
    assert OrderManager.get_by_unique_identifier("alpha", engine=engine).metadata_json == {"k": 1, "note": "two lines"}
    assert OrderManager.get_by_unique_identifier("epsilon", engine=engine).status == "created"
    assert OrderManager.get_by_unique_identifier("eta", engine=engine).status == "created"


def test_bad_intents_are_reported_with_file_row_and_field(resources, landing_root):
    intents = landing_root / "order-managers"
    intents.mkdir()
    (intents / "bad.json").write_text(json.dumps([
        {"unique_identifier": "ok", "target_account_uid": "00000000-0000-0000-0000-000000000004",
         "target_time": "2026-11-17T07:55:00+00:00"},
        {"unique_identifier": "naive", "target_account_uid": "00000000-0000-0000-0000-000000000004",
         "target_time": "2026-11-17T07:55:00"},
    ]))
    with dg.instance_for_test() as instance:
        result = dg.materialize([order_manager_table], resources=resources, instance=instance, raise_on_error=False)
    assert not result.success
    message = str(result.failure_data_for_node("execution__OrderManagerTable").error)
    assert "bad.json, row 2, field target_time" in message
