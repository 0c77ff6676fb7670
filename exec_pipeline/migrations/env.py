"""Alembic environment of the execution warehouse.

Run through ``exec-pipeline warehouse upgrade`` (or ``exec_pipeline.lib.warehouse.upgrade``), which
passes its connection in ``config.attributes["connection"]``; plain ``alembic`` use falls back to
``EXEC_PIPELINE_WAREHOUSE_URL``.
"""

from __future__ import annotations

from alembic import context

from exec_pipeline.models.execution import Base

target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies for ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from exec_pipeline.lib.warehouse import build_engine
    from exec_pipeline.lib import settings

    engine = build_engine(settings.warehouse_url())
    with engine.begin() as new_connection:
        _run(new_connection)
