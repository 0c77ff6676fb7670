"""The environment variables of SPEC §6, each with a working local default."""

from __future__ import annotations

import os
from pathlib import Path

WAREHOUSE_URL_ENV = "EXEC_PIPELINE_WAREHOUSE_URL"
LANDING_URL_ENV = "EXEC_PIPELINE_LANDING_URL"
SOURCES_ENV = "EXEC_PIPELINE_SOURCES"
DAGSTER_HOME_ENV = "DAGSTER_HOME"

PACKAGE_DIR = Path(__file__).resolve().parent.parent
SAMPLE_DATA_DIR = PACKAGE_DIR / "sample_data"


def dagster_home() -> Path:
    """``$DAGSTER_HOME``, else the checkout's ``dagster_home/``, else ``./dagster_home``."""
    if value := os.environ.get(DAGSTER_HOME_ENV):
        return Path(value).expanduser().resolve()
    checkout_home = PACKAGE_DIR.parent / "dagster_home"
    if (checkout_home / "dagster.yaml").is_file():
        return checkout_home
    return (Path.cwd() / "dagster_home").resolve()


def warehouse_url() -> str:
    """SQLAlchemy URL of the execution warehouse; default: a SQLite file beside the Dagster instance."""
    if value := os.environ.get(WAREHOUSE_URL_ENV):
        return value
    return f"sqlite:///{dagster_home() / 'warehouse.sqlite'}"


def landing_url() -> str:
    """Landing root (a path or any fsspec URL); default: the bundled sample landing zone."""
    return os.environ.get(LANDING_URL_ENV) or str(SAMPLE_DATA_DIR / "landing")


def sources_path() -> str:
    """Path of the source catalogue YAML; default: the bundled sample catalogue."""
    return os.environ.get(SOURCES_ENV) or str(SAMPLE_DATA_DIR / "sources.yaml")
