"""Plain helpers shared by the domain and the Dagster definitions (no Dagster imports here)."""
