"""The execution domain's Dagster definitions."""

from __future__ import annotations

import dagster as dg


def execution_definitions() -> dg.Definitions:
    # Assets, checks, sensors and schedules arrive with the code-location issue.
    return dg.Definitions()
