"""Resources, chosen by environment variables only (SPEC §6).

A variable that is set reaches Dagster as an ``EnvVar``, so the UI and run config show its name,
never its value (warehouse URLs can carry passwords); unset, the local default applies.
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from exec_pipeline.lib import settings
from exec_pipeline.lib.landing import DEFAULT_MAX_EXTRACT_BYTES, LandingZone
from exec_pipeline.lib.warehouse import get_engine
from exec_pipeline.readers.catalogue import Catalogue, load_catalogue


class WarehouseResource(dg.ConfigurableResource):
    """The execution warehouse (``EXEC_PIPELINE_WAREHOUSE_URL``)."""

    url: str = Field(description="SQLAlchemy URL of the execution warehouse")

    def engine(self) -> Engine:
        return get_engine(self.url)


class LandingZoneResource(dg.ConfigurableResource):
    """The landing zone (``EXEC_PIPELINE_LANDING_URL``) and source catalogue (``EXEC_PIPELINE_SOURCES``)."""

    url: str = Field(description="landing root: a path or an fsspec URL")
    sources_path: str = Field(description="path of the source catalogue YAML")
    max_extract_bytes: int = Field(default=DEFAULT_MAX_EXTRACT_BYTES, description="larger extracts are refused")

    def zone(self) -> LandingZone:
        return LandingZone(self.url, max_extract_bytes=self.max_extract_bytes)

    def catalogue(self) -> Catalogue:
        return load_catalogue(self.sources_path)


def _from_environment(variable: str, default: str) -> str:
    return dg.EnvVar(variable) if os.environ.get(variable) else default  # type: ignore[return-value]


def resources_from_environment() -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(url=_from_environment(settings.WAREHOUSE_URL_ENV, settings.warehouse_url())),
        "landing": LandingZoneResource(
            url=_from_environment(settings.LANDING_URL_ENV, settings.landing_url()),
            sources_path=_from_environment(settings.SOURCES_ENV, settings.sources_path()),
        ),
    }
