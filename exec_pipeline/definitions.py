"""The Dagster code location: thin by design; each domain folder under ``defs/`` brings its own."""

from __future__ import annotations

import dagster as dg

from exec_pipeline.defs.execution.definitions import execution_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(execution_definitions())
