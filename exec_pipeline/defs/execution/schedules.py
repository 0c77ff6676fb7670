"""Schedules: re-materialize the previous UTC day for every source (late or missed deliveries)."""


import datetime as dt

import dagster as dg

from exec_pipeline.defs.execution.assets import FACT_KEYS, run_day


@dg.schedule(
    name="previous_day_schedule",
    cron_schedule="30 6 * * *",
    execution_timezone="UTC",
    target=list(FACT_KEYS.values()),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 06:30 UTC: the previous UTC business date, one run per source. "
    "Unchanged extracts are skipped by content hash, so this only costs what arrived late.",
)
def previous_day_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    tick = context.scheduled_execution_time.astimezone(dt.UTC)
    previous_day = tick.date() - dt.timedelta(days=1)
    return [
        dg.RunRequest(run_key=f"{key}:{tick.isoformat()}", partition_key=key, tags={"exec_pipeline/trigger": "schedule"})
        for key in run_day(previous_day)
    ]
