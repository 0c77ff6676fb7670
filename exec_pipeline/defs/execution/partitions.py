"""Partitions of the execution facts: daily UTC ``date`` x static ``source`` (from the catalogue)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg

from exec_pipeline.lib import settings
from exec_pipeline.readers.catalogue import Catalogue, load_catalogue


@cache
def catalogue() -> Catalogue:
    """The source catalogue named by ``EXEC_PIPELINE_SOURCES`` (read once per process)."""
    return load_catalogue(settings.sources_path())


def facts_partitions(source_names: list[str], start_date: dt.date) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {
            # end_offset=1: today's partition exists, extracts for today can arrive during the day
            "date": dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone="UTC", end_offset=1),
            "source": dg.StaticPartitionsDefinition(source_names),
        }
    )


def split_partition_key(key: str | dg.MultiPartitionKey) -> tuple[str, dt.date]:
    """(source, business date) of a ``date|source`` partition key."""
    if not isinstance(key, dg.MultiPartitionKey):
        date_part, _, source_part = key.partition("|")
        key = dg.MultiPartitionKey({"date": date_part, "source": source_part})
    dimensions = key.keys_by_dimension
    return dimensions["source"], dt.date.fromisoformat(dimensions["date"])


def partition_key_for(source: str, business_date: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": business_date.isoformat(), "source": source})
