"""The ``exec-pipeline`` console script.

    exec-pipeline warehouse upgrade    bring the configured warehouse to the latest schema (idempotent)
    exec-pipeline warehouse current    print the warehouse's schema revision and the latest one
"""

from __future__ import annotations

import argparse
import sys

from exec_pipeline.lib import settings, warehouse


def _upgrade(args: argparse.Namespace) -> int:
    url = args.url or settings.warehouse_url()
    engine = warehouse.build_engine(url)
    try:
        before, after = warehouse.upgrade(engine)
    finally:
        engine.dispose()
    where = warehouse.redact(url)
    if before == after:
        print(f"warehouse {where} is already at the latest schema ({after}); nothing to do")
    else:
        print(f"warehouse {where} upgraded from {before or 'empty'} to {after}")
    return 0


def _current(args: argparse.Namespace) -> int:
    url = args.url or settings.warehouse_url()
    engine = warehouse.build_engine(url)
    try:
        current = warehouse.current_revision(engine)
    finally:
        engine.dispose()
    head = warehouse.head_revision()
    state = "up to date" if current == head else "needs `exec-pipeline warehouse upgrade`"
    print(f"warehouse {warehouse.redact(url)}: revision {current or 'none (empty)'}, latest {head}: {state}")
    return 0 if current == head else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exec-pipeline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    warehouse_parser = commands.add_parser("warehouse", help="manage the execution warehouse schema")
    actions = warehouse_parser.add_subparsers(dest="action", required=True)
    for name, handler, text in (
        ("upgrade", _upgrade, "bring the warehouse to the latest schema (a second run is a no-op)"),
        ("current", _current, "show the warehouse's schema revision (exit 1 when outdated)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument(
            "--url", help=f"warehouse SQLAlchemy URL (default: ${settings.WAREHOUSE_URL_ENV} or the local SQLite file)"
        )
        action.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except Exception as exc:  # noqa: BLE001 - a console script reports, it does not dump a traceback
        print(f"exec-pipeline: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
