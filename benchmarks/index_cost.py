"""What the fact tables' indexes cost the product's load on PostgreSQL (a decision aid, not a test).

For each group of indexes dropped from a fresh warehouse, times the product's first load of one
generated FIX day (``ingest_partition`` in a fresh interpreter, as ``ingest_benchmark.py`` does),
then plain binary COPY of the same rows into bare tables, and prints product / COPY per variant.
The variants only ever drop indexes of a scratch database: the shipped schema is unchanged.

    .venv/bin/python benchmarks/index_cost.py                 # 1M fills, 2 runs per variant (~20 min)
    .venv/bin/python benchmarks/index_cost.py --fills 200000 --runs 1
"""

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest_benchmark as bench  # noqa: E402  (the generator, the child runner and the COPY baseline)

ACCOUNT_ASSET = ["ix_orders_ts_account_identifier_order_time", "ix_orders_ts_asset_identifier_order_time",
                 "ix_trades_ts_account_identifier_trade_time", "ix_trades_ts_asset_identifier_trade_time"]
ORDER_LOOKUPS = ["ix_orders_ts_order_manager_identifier", "ix_orders_ts_source_client_order_id"]
PRIMARY_KEYS = ["orders_ts.pk_orders_ts", "order_events_ts.pk_order_events_ts", "trades_ts.pk_trades_ts"]
ORDER_HASH = ["ix_order_events_ts_order_identifier", "ix_trades_ts_order_identifier"]
#: what each variant drops (``table.constraint`` for a constraint, else an index name)
VARIANTS = {
    "all 18 indexes (as shipped)": [],
    "- account/asset time (4)": ACCOUNT_ASSET,
    "- and manager/client-id look-ups (6)": ACCOUNT_ASSET + ORDER_LOOKUPS,
    "- and the (time, id) primary keys (9)": ACCOUNT_ASSET + ORDER_LOOKUPS + PRIMARY_KEYS,
    "- and the order hash indexes (11)": ACCOUNT_ASSET + ORDER_LOOKUPS + PRIMARY_KEYS + ORDER_HASH,
}


def drop(url: str, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
        for name in names:
            if "." in name:
                table, constraint = name.split(".")
                connection.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
            else:
                connection.execute(f"DROP INDEX {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from exec_pipeline.data_nodes.execution import partition_key
    from exec_pipeline.readers import get_reader
    from exec_pipeline.readers.catalogue import load_catalogue

    day = dt.date.today() - dt.timedelta(days=1)
    store = bench.Postgres(args.pg_url)
    with tempfile.TemporaryDirectory(prefix="exec_index_cost_") as folder:
        landing = Path(folder)
        catalogue_path = landing / "sources.yaml"
        bench.write_catalogue(catalogue_path, day - dt.timedelta(days=30))
        data, _ = bench.generate_day(args.fills, day, fmt="fix", seed=20261116)
        path = bench.write_extract(landing, bench.FIX_SOURCE, day, data)
        medians: dict[str, float] = {}
        try:
            for variant, names in VARIANTS.items():
                seconds = []
                for run in range(args.runs):
                    url = store.create("index_cost")
                    try:
                        drop(url, names)
                        result, _ = bench.run_child("product", {
                            "url": url, "landing": str(landing), "catalogue": str(catalogue_path),
                            "source": bench.FIX_SOURCE, "date": day.isoformat(), "run": run, "only_first": True})
                    finally:
                        store.drop(url)
                    seconds.append(result["first"])
                medians[variant] = statistics.median(seconds)
                print(f"{variant:42s} {medians[variant]:6.1f} s   runs {[round(s, 1) for s in seconds]}", flush=True)
            reader = get_reader("fix44")
            uri = path.as_uri()
            rows = bench.Rows(bench.read_records("fix44", data, load_catalogue(catalogue_path), bench.FIX_SOURCE, uri),
                              "postgresql", source=bench.FIX_SOURCE, partition_key=partition_key(bench.FIX_SOURCE, day),
                              uri=uri, reader_name=reader.name, reader_version=reader.version)
            url = store.create("index_cost_copy")
            try:
                copy = statistics.median(bench.bench_copy_postgres(url, rows, args.runs, binary=True))
            finally:
                store.drop(url)
            print(f"plain binary COPY into bare tables: {copy:.1f} s")
            for variant, seconds in medians.items():
                print(f"{variant:42s} product / COPY {copy / seconds:.2f}x")
        finally:
            store.drop_all()


if __name__ == "__main__":
    main()
