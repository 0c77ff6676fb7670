"""The whole code location loads, as `dg dev` and the webserver load it."""

from __future__ import annotations

import dagster as dg

from exec_pipeline.definitions import defs


def test_code_location_loads():
    definitions = defs() if not isinstance(defs, dg.Definitions) else defs
    assert isinstance(definitions, dg.Definitions)
    definitions.resolve_all_asset_specs()
    definitions.resolve_all_job_defs()
