"""Dagster definitions, one folder per domain (assets, checks, sensors, schedules) plus resources."""
