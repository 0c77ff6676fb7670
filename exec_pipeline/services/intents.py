"""Order-manager intent files: rows for ``OrderManager.create_batch`` dropped in the landing zone.

Strategies write them under ``<landing root>/order-managers/`` as

- JSON: a list of objects, or ``{"order_managers": [...]}``, each with the ``create_batch``
  arguments: ``unique_identifier``, ``target_account_uid``, ``target_time`` (ISO-8601 with zone),
  optional ``status``, ``strategy_identifier``, ``metadata_json`` (an object);
- CSV: a header row with those names; ``metadata_json`` holds JSON text.

Each row is applied with ``create_batch`` (idempotent), so a file can be re-read any time.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from exec_pipeline.api.execution import OrderManager, OrderManagerError


@dataclass
class IntentError:
    uri: str
    row: int  # 1-based: JSON list position, or CSV line number
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.uri}, row {self.row}" + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.reason}"


@dataclass
class IntentResult:
    files: int = 0
    applied: int = 0
    errors: list[IntentError] = field(default_factory=list)


def parse_intent_file(uri: str, data: bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[IntentError]]:
    """(row number, arguments) of each intent in the file, and the rows that could not be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [IntentError(uri, 0, None, f"not UTF-8 text: {exc}")]
    if uri.lower().endswith(".csv"):
        rows, errors = [], []
        reader = csv.reader(io.StringIO(text))
        header: list[str] | None = None
        previous_end = 0  # the line the previous record ended on
        for cells in reader:
            line_number, previous_end = previous_end + 1, reader.line_num  # where this record starts
            if not cells:  # a blank line
                continue
            if header is None:
                header = [name.strip() for name in cells]
                continue
            row = dict(zip(header, cells))
            values: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
            if "metadata_json" in values:
                try:
                    values["metadata_json"] = json.loads(values["metadata_json"])
                except json.JSONDecodeError as exc:
                    # this row only: the rows after it are intents of their own
                    errors.append(IntentError(uri, line_number, "metadata_json", f"not JSON: {exc}"))
                    continue
            rows.append((line_number, values))
        return rows, errors
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [IntentError(uri, 0, None, f"not JSON: {exc}")]
    if isinstance(document, dict):
        document = document.get("order_managers")
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        return [], [IntentError(uri, 0, None, 'expected a list of objects or {"order_managers": [...]}')]
    return list(enumerate(document, start=1)), []


def apply_intent_files(files: list[tuple[str, bytes]], *, engine: Engine) -> IntentResult:
    """Create every intent with ``create_batch``; unreadable or conflicting rows are reported."""
    result = IntentResult()
    for uri, data in files:
        result.files += 1
        rows, errors = parse_intent_file(uri, data)
        result.errors += errors
        for number, arguments in rows:
            try:
                OrderManager.create_batch(**arguments, engine=engine)
                result.applied += 1
            except ValidationError as exc:
                first = exc.errors()[0]
                field_name = ".".join(str(part) for part in first["loc"]) or None
                result.errors.append(IntentError(uri, number, field_name, first["msg"]))
            except (OrderManagerError, TypeError) as exc:
                result.errors.append(IntentError(uri, number, None, str(exc)))
    return result
