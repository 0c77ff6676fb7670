"""pytest plugin for ``fuzz/run --hypothesis``: run only the hypothesis tests, with more examples.

The readers' property tests pin ``@settings(max_examples=...)`` on each test, which a
``--hypothesis-profile`` cannot override (explicit settings win over the profile). This plugin
rewrites each collected hypothesis test's settings instead (``max_examples`` = ``--fuzz-max-examples``,
no deadline, no example database) and deselects every other test::

    PYTHONPATH=fuzz .venv/bin/python -m pytest exec_pipeline_tests/readers -p hypothesis_examples \\
        --fuzz-max-examples=10000
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-max-examples", type=int, default=None,
        help="run only hypothesis tests, each with this many examples (fuzz/run --hypothesis)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    examples = config.getoption("--fuzz-max-examples")
    if not examples:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    raised: set[int] = set()
    for item in items:
        function: Any = getattr(item, "obj", None)
        function = getattr(function, "__func__", function)
        if not getattr(function, "is_hypothesis_test", False):
            drop.append(item)
            continue
        keep.append(item)
        if id(function) in raised:  # parametrized: one function, several items
            continue
        raised.add(id(function))
        current = function._hypothesis_internal_use_settings
        function._hypothesis_internal_use_settings = settings(
            current, max_examples=examples, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
