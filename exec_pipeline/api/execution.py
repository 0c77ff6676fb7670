"""Typed row API for order-manager intent (pydantic), with class-owned lifecycle methods.

```python
import datetime as dt
from exec_pipeline.api.execution import OrderManager

manager = OrderManager.create_batch(
    unique_identifier="rebalance-2026-05-26",
    target_account_uid="00000000-0000-0000-0000-000000000000",
    target_time=dt.datetime.now(dt.UTC),
    status="created",
)
manager.submit()            # created -> submitted
manager.start_execution()   # submitted -> executing
manager.complete()          # executing -> completed
```

Every method uses the warehouse named by ``EXEC_PIPELINE_WAREHOUSE_URL`` unless given ``engine=``
or ``session=``. With ``session=`` the caller owns the transaction (nothing is committed here);
otherwise each call is its own transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from exec_pipeline.lib.warehouse import session_scope
from exec_pipeline.models.execution import OrderManagerTable
from exec_pipeline.services import execution as services
from exec_pipeline.services.execution import (  # re-exported: the errors users catch
    IllegalTransition,
    OrderManagerConflict,
    OrderManagerError,
    OrderManagerNotFound,
)

__all__ = [
    "IllegalTransition",
    "ManagerStatus",
    "OrderManager",
    "OrderManagerConflict",
    "OrderManagerError",
    "OrderManagerNotFound",
]

ManagerStatus = Literal["created", "submitted", "executing", "completed", "cancelled", "failed", "expired"]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.UTC) if value is not None else None


class OrderManager(BaseModel):
    """One order-manager intent row (``OrderManagerTable``)."""

    model_config = ConfigDict(from_attributes=True, validate_assignment=False)

    uid: uuid.UUID
    unique_identifier: str
    target_account_uid: uuid.UUID
    target_time: AwareDatetime
    status: ManagerStatus
    order_received_time: AwareDatetime | None = None
    execution_end: AwareDatetime | None = None
    strategy_identifier: str | None = None
    metadata_json: dict[str, Any] | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime

    _normalise_times = field_validator(
        "target_time", "order_received_time", "execution_end", "created_at", "updated_at"
    )(_utc)

    @property
    def is_terminal(self) -> bool:
        return self.status in ("completed", "cancelled", "failed", "expired")

    # --- creation and lookups ------------------------------------------------------------------

    @classmethod
    def create_batch(
        cls,
        *,
        unique_identifier: str,
        target_account_uid: uuid.UUID | str,
        target_time: dt.datetime,
        status: ManagerStatus = "created",
        strategy_identifier: str | None = None,
        metadata_json: dict[str, Any] | None = None,
        session: Session | None = None,
        engine: Engine | None = None,
    ) -> OrderManager:
        """Create the manager (idempotent on ``unique_identifier``).

        Calling again with the same arguments returns the same row; with a different account,
        target time, strategy or metadata it raises :class:`OrderManagerConflict` and changes
        nothing. ``target_time`` must be timezone-aware.
        """
        request = _CreateRequest(
            unique_identifier=unique_identifier,
            target_account_uid=target_account_uid,  # type: ignore[arg-type]
            target_time=target_time,
            status=status,
            strategy_identifier=strategy_identifier,
            metadata_json=metadata_json,
        )
        with session_scope(engine, session) as active:
            row = services.create_manager(active, **request.model_dump())
            return cls._from_row(row)

    @classmethod
    def get(cls, uid: uuid.UUID | str, *, session: Session | None = None, engine: Engine | None = None) -> OrderManager:
        with session_scope(engine, session) as active:
            return cls._from_row(services.get_manager(active, uuid.UUID(str(uid))))

    @classmethod
    def get_by_unique_identifier(
        cls, unique_identifier: str, *, session: Session | None = None, engine: Engine | None = None
    ) -> OrderManager:
        with session_scope(engine, session) as active:
            return cls._from_row(services.get_manager_by_unique_identifier(active, unique_identifier))

    @classmethod
    def filter(
        cls,
        *,
        target_account_uid: uuid.UUID | str | None = None,
        status: ManagerStatus | list[ManagerStatus] | None = None,
        strategy_identifier: str | None = None,
        target_time_from: dt.datetime | None = None,
        target_time_to: dt.datetime | None = None,
        session: Session | None = None,
        engine: Engine | None = None,
    ) -> list[OrderManager]:
        """Managers matching every given filter, by target time; ``from <= target_time < to``."""
        with session_scope(engine, session) as active:
            rows = services.find_managers(
                active,
                target_account_uid=uuid.UUID(str(target_account_uid)) if target_account_uid else None,
                status=status,
                strategy_identifier=strategy_identifier,
                target_time_from=target_time_from,
                target_time_to=target_time_to,
            )
            return [cls._from_row(row) for row in rows]

    # --- lifecycle ------------------------------------------------------------------------------

    def transition_to(
        self,
        status: ManagerStatus,
        *,
        at: dt.datetime | None = None,
        session: Session | None = None,
        engine: Engine | None = None,
    ) -> OrderManager:
        """Move to ``status`` if the lifecycle allows it (else :class:`IllegalTransition`, nothing
        changed). Updates this object in place and returns it."""
        with session_scope(engine, session) as active:
            row = services.transition_manager(active, self.uid, status, at=at)
            return self._update_from(row)

    def submit(self, *, at: dt.datetime | None = None, **kwargs: Any) -> OrderManager:
        """created -> submitted (stamps ``order_received_time``)."""
        return self.transition_to("submitted", at=at, **kwargs)

    def start_execution(self, *, at: dt.datetime | None = None, **kwargs: Any) -> OrderManager:
        """submitted -> executing."""
        return self.transition_to("executing", at=at, **kwargs)

    def complete(self, *, at: dt.datetime | None = None, **kwargs: Any) -> OrderManager:
        """executing -> completed (stamps ``execution_end``)."""
        return self.transition_to("completed", at=at, **kwargs)

    def cancel(self, *, at: dt.datetime | None = None, **kwargs: Any) -> OrderManager:
        return self.transition_to("cancelled", at=at, **kwargs)

    def fail(self, *, at: dt.datetime | None = None, **kwargs: Any) -> OrderManager:
        return self.transition_to("failed", at=at, **kwargs)

    def expire(self, *, at: dt.datetime | None = None, **kwargs: Any) -> OrderManager:
        return self.transition_to("expired", at=at, **kwargs)

    def refresh(self, *, session: Session | None = None, engine: Engine | None = None) -> OrderManager:
        """Re-read this manager from the warehouse."""
        with session_scope(engine, session) as active:
            return self._update_from(services.get_manager(active, self.uid))

    # --- plumbing -------------------------------------------------------------------------------

    @classmethod
    def _from_row(cls, row: OrderManagerTable) -> OrderManager:
        return cls.model_validate(row)

    def _update_from(self, row: OrderManagerTable) -> OrderManager:
        fresh = self._from_row(row)
        for name in type(self).model_fields:
            setattr(self, name, getattr(fresh, name))
        return self


_UNIQUE_IDENTIFIER_WIDTH = OrderManagerTable.__table__.c.unique_identifier.type.length
_STRATEGY_IDENTIFIER_WIDTH = OrderManagerTable.__table__.c.strategy_identifier.type.length


class _CreateRequest(BaseModel):
    """Validates ``create_batch`` arguments before anything touches the database."""

    model_config = ConfigDict(extra="forbid")

    # the columns' widths: PostgreSQL refuses a longer value at insert time, SQLite would store it
    unique_identifier: str = Field(max_length=_UNIQUE_IDENTIFIER_WIDTH)
    target_account_uid: uuid.UUID
    target_time: AwareDatetime
    status: ManagerStatus
    strategy_identifier: str | None = Field(max_length=_STRATEGY_IDENTIFIER_WIDTH)
    metadata_json: dict[str, Any] | None

    @field_validator("unique_identifier")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("unique_identifier must not be blank")
        return value

    @field_validator("unique_identifier", "strategy_identifier", "metadata_json")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # PostgreSQL stores no NUL character in text or JSON (SQLite would), and neither stores a lone
        # UTF-16 surrogate (valid in JSON text as "\\ud800"): refused on both, as this row's error
        if not _storable_text(value):
            raise ValueError(
                "holds a NUL character (\\u0000) or a lone UTF-16 surrogate, which the warehouse cannot store"
            )
        return value


def _storable_text(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_storable_text(key) and _storable_text(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable_text(item) for item in value)
    return True
