"""The execution domain's Dagster definitions."""

from __future__ import annotations

import dagster as dg

from exec_pipeline.defs.execution.assets import execution_assets
from exec_pipeline.defs.execution.checks import execution_checks
from exec_pipeline.defs.execution.schedules import previous_day_schedule
from exec_pipeline.defs.execution.sensors import landing_zone_sensor, order_manager_intents_sensor
from exec_pipeline.defs.resources import resources_from_environment


def execution_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=execution_assets(),
        asset_checks=execution_checks(),
        sensors=[landing_zone_sensor, order_manager_intents_sensor],
        schedules=[previous_day_schedule],
        resources=resources_from_environment(),
        # one publish step and a few SQL checks per run: a process per step would cost more than the work
        executor=dg.in_process_executor,
    )
