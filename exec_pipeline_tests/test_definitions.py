"""The whole code location loads, as `dg dev` and the webserver load it."""

from __future__ import annotations

import dagster as dg

from exec_pipeline.definitions import defs


def test_code_location_loads():
    definitions = defs()
    assert isinstance(definitions, dg.Definitions)
    keys = {spec.key.to_user_string() for spec in definitions.resolve_all_asset_specs()}
    assert {"execution/OrderManagerTable", "execution/OrdersTS", "execution/OrderEventsTS",
            "execution/TradesTS"} <= keys
    assert {"landing/fixgw", "landing/ibkr", "landing/binance", "landing/acme"} <= keys
    assert {s.name for s in definitions.sensors} == {"landing_zone_sensor", "order_manager_intents_sensor"}
    assert [s.name for s in definitions.schedules] == ["previous_day_schedule"]
    definitions.resolve_all_job_defs()
