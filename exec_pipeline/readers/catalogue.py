"""The source catalogue (SPEC §5): which sources exist, their format and their mappings.

```yaml
start_date: 2024-01-01        # first business date of the partitions (optional)
sources:
  fixgw:                      # [a-z0-9_]+ ; also the `source` partition key
    format: fix44             # a reader name (exec_pipeline.readers.READERS)
    accounts: {ACC-1: 00000000-0000-0000-0000-000000000001}
    assets: {AAPL: aapl-us-equity}
    manager_pattern: '^(?P<manager>[^/]+)/'
    timezone: UTC             # zone of wall-clock times in the extracts (IBKR statements)
    default_account: null     # account for records that carry none
    options: {}               # format-specific settings, validated by the reader (e.g. CSV columns)
```
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$", max_length=64)]


class CatalogueError(ValueError):
    """The source catalogue file is missing or invalid; the message names the file."""


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str
    accounts: dict[str, str] = Field(default_factory=dict)
    assets: dict[str, str] = Field(default_factory=dict)
    manager_pattern: str | None = None
    timezone: str = "UTC"
    default_account: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("accounts", "assets", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1234: x` with an integer key; broker values are text
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator("manager_pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"manager_pattern {value!r} is not a regular expression: {exc}") from None
        if "manager" not in compiled.groupindex:
            raise ValueError(f"manager_pattern {value!r} needs a named group (?P<manager>...)")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {value!r} is not an IANA time zone") from None
        return value

    @model_validator(mode="after")
    def _known_format(self) -> SourceConfig:
        from exec_pipeline.readers import READERS  # the registry imports this module

        reader = READERS.get(self.format)
        if reader is None:
            raise ValueError(f"format {self.format!r} is not one of: {', '.join(sorted(READERS))}")
        if reader.options_model is not None:
            reader.options_model.model_validate(self.options)
        elif self.options:
            raise ValueError(f"format {self.format!r} takes no options")
        return self

    @cached_property
    def digest(self) -> str:
        """A fingerprint of everything in this entry that shapes the facts read (mappings, time zone,
        manager rule, options): the ledger keeps it, so a changed entry makes re-runs read again."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def timezone_configured(self) -> bool:
        """Whether the entry names its ``timezone``: else wall-clock times are UTC, read exactly as
        with ``timezone: UTC``, but a reject of a zone abbreviation asks for the zone (see
        ``readers.base.wall_clock_to_utc``)."""
        return "timezone" in self.model_fields_set

    @cached_property
    def zoneinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _manager_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.manager_pattern) if self.manager_pattern else None

    def resolve_manager(self, client_order_id: str | None) -> str | None:
        """The rule for ``order_manager_identifier``: the ``manager`` group of ``manager_pattern``
        searched in the client order id (FIX 11, IBKR orderReference, ccxt clientOrderId)."""
        if not client_order_id or self._manager_regex is None:
            return None
        match = self._manager_regex.search(client_order_id)
        return match.group("manager") if match and match.group("manager") else None

    def reader_options(self) -> Any:
        from exec_pipeline.readers import READERS

        model = READERS[self.format].options_model
        return model.model_validate(self.options) if model is not None else None


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[SourceName, SourceConfig]
    #: first business date of the Dagster partitions
    start_date: dt.date = dt.date(2024, 1, 1)

    @property
    def source_names(self) -> list[str]:
        return sorted(self.sources)

    def source(self, name: str) -> SourceConfig:
        try:
            return self.sources[name]
        except KeyError:
            raise CatalogueError(f"unknown source {name!r}; the catalogue has {', '.join(self.source_names)}") from None


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue YAML file; errors name the file and the offending entry."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read the source catalogue: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: the source catalogue is not valid YAML: {exc}") from None
    try:
        return Catalogue.model_validate(document)
    except ValueError as exc:
        raise CatalogueError(f"{path}: invalid source catalogue: {exc}") from None
