"""The sensor loses nothing across restarts and outages of the landing zone."""

from __future__ import annotations

import dagster as dg
import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

from exec_pipeline.defs.execution.sensors import landing_zone_sensor
from exec_pipeline.defs.resources import LandingZoneResource
from exec_pipeline.lib.landing import LandingZoneError
from exec_pipeline_tests.dagster.conftest import order_rows, write_extract


class FlakyFileSystem(LocalFileSystem):
    """A local filesystem that can be taken offline, as a network share or bucket can."""

    protocol = "flaky"
    down = False

    def ls(self, path, detail=True, **kwargs):
        if FlakyFileSystem.down:
            raise ConnectionError("landing zone unreachable")
        return super().ls(path, detail=detail, **kwargs)


fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)


@pytest.fixture
def flaky_resources(resources, landing_root):
    FlakyFileSystem.down = False
    flaky = LandingZoneResource(url=f"flaky://{landing_root}", sources_path=resources["landing"].sources_path)
    yield {**resources, "landing": flaky}
    FlakyFileSystem.down = False


def tick(instance, resources, cursor):
    return landing_zone_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))


def keys(result) -> list[str]:
    return sorted(str(r.partition_key) for r in result.run_requests or [])


def test_an_unreachable_landing_zone_fails_the_tick_and_keeps_the_cursor(flaky_resources, landing_root):
    write_extract(landing_root, "2026-11-16", "a.csv", order_rows("2026-11-16", "PB-1"))
    with dg.instance_for_test() as instance:
        first = tick(instance, flaky_resources, None)
        assert keys(first) == ["2026-11-16|acme"]
        # outage; meanwhile a file arrives
        FlakyFileSystem.down = True
        write_extract(landing_root, "2026-11-17", "a.csv", order_rows("2026-11-17", "PB-2"))
        with pytest.raises(LandingZoneError, match="unreachable"):
            tick(instance, flaky_resources, first.cursor)  # the daemon records the error, keeps the cursor
        FlakyFileSystem.down = False
        recovered = tick(instance, flaky_resources, first.cursor)
    assert keys(recovered) == ["2026-11-17|acme"]


def test_a_restarted_sensor_misses_nothing_and_repeats_no_run_key(resources, landing_root):
    write_extract(landing_root, "2026-11-16", "a.csv", order_rows("2026-11-16", "PB-1"))
    with dg.instance_for_test() as instance:
        first = tick(instance, resources, None)
        stored_cursor = first.cursor
        # the daemon died after submitting the runs but before storing the cursor: the retried tick
        # asks for the same run keys, which Dagster refuses to run twice
        retried = tick(instance, resources, None)
        assert [r.run_key for r in retried.run_requests] == [r.run_key for r in first.run_requests]
        # files that arrive while the daemon is down are found from the stored cursor
        write_extract(landing_root, "2026-11-17", "a.csv", order_rows("2026-11-17", "PB-2"))
        write_extract(landing_root, "2026-11-16", "b.csv", order_rows("2026-11-16", "PB-3"))
        restarted = tick(instance, resources, stored_cursor)
    assert keys(restarted) == ["2026-11-16|acme", "2026-11-17|acme"]
    assert not {r.run_key for r in restarted.run_requests} & {r.run_key for r in first.run_requests}
