"""exec_pipeline: execution data (order managers, orders, order events, trades) from broker extracts.

Domain modules (usable without Dagster): ``models``, ``api``, ``repositories``, ``services``,
``data_nodes``, ``readers``. Dagster wiring lives in ``defs`` and ``definitions``.
"""

__version__ = "0.1.0"
