"""Credentials stay in the environment; schema upgrades keep every row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import dagster as dg
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from exec_pipeline.data_nodes.execution import (
    ExtractFacts,
    OrderRecord,
    OrderStatus,
    TradeRecord,
    publish_partition,
)
from exec_pipeline.defs.execution.assets import execution_facts
from exec_pipeline.defs.resources import LandingZoneResource, WarehouseResource, resources_from_environment
from exec_pipeline.lib import settings, warehouse
from exec_pipeline_tests.dagster.conftest import order_rows, write_extract
from exec_pipeline_tests.helpers import fact_snapshot

PASSWORD = "n0t-in-any-log"


def test_configured_urls_reach_dagster_as_environment_variables(monkeypatch):
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, f"postgresql://ops:{PASSWORD}@db.internal/execution")
    resources = resources_from_environment()
    assert PASSWORD not in repr(resources["warehouse"])
    assert resources["warehouse"].url == dg.EnvVar(settings.WAREHOUSE_URL_ENV)


@pytest.mark.postgres
def test_the_password_never_reaches_logs_or_metadata(postgres_server, landing_root, monkeypatch):
    # trust authentication ignores the password, so a real run can carry one
    name = postgres_server.create(template=postgres_server.migrated_template())
    url = make_url(postgres_server.url(name)).set(password=PASSWORD).render_as_string(hide_password=False)
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, url)
    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    resources = {
        "warehouse": WarehouseResource(url=dg.EnvVar(settings.WAREHOUSE_URL_ENV)),
        "landing": LandingZoneResource(url=str(landing_root), sources_path=str(settings.SAMPLE_DATA_DIR / "sources.yaml")),
    }
    try:
        with dg.instance_for_test() as instance:
            result = dg.materialize([execution_facts], partition_key="2026-11-17|acme", resources=resources, instance=instance)
            assert result.success
            records = instance.all_logs(result.run_id)
            assert records
            for record in records:
                assert PASSWORD not in str(record.user_message)
                assert PASSWORD not in str(record.dagster_event)
            run = instance.get_run_by_id(result.run_id)
            assert PASSWORD not in str(run.run_config) and PASSWORD not in str(run.tags)
    finally:
        warehouse.dispose_engines()
        postgres_server.drop(name)


def test_upgrading_a_populated_warehouse_of_the_previous_schema_keeps_every_row(warehouse_url):
    engine = warehouse.build_engine(warehouse_url)
    warehouse.upgrade(engine)
    when = dt.datetime(2026, 11, 17, 14, tzinfo=dt.UTC)
    records = [OrderRecord(1, when, "o-1", "aapl", 1, quantity=Decimal("10"))] + [
        TradeRecord(n, when, f"t-{n}", "aapl", 1, Decimal("0.1"), order_identifier="o-1", price=Decimal("99.5"),
                    venue_metadata={"35": "8", "17": f"E{n}", "31": "99.5", "453": [{"448": "X"}]})  # jsonb before 0004
        for n in range(2, 102)
    ]
    publish_partition("fixgw", when.date(), [ExtractFacts("mem://a", "a" * 64, 1, "t", "1", records)], engine=engine)
    warehouse.downgrade(engine, "0001")  # the previous schema, populated
    assert "order_status" not in inspect(engine).get_view_names()
    before = fact_snapshot(engine)

    assert warehouse.upgrade(engine) == ("0001", warehouse.head_revision())
    assert fact_snapshot(engine) == before
    status = OrderStatus.read(engine=engine)
    assert status.iloc[0]["filled_quantity"] == Decimal("10.0")
    engine.dispose()
