"""Service helpers for order-manager intent records: creation, lookups and the validated lifecycle.

Each function works inside a caller's :class:`~sqlalchemy.orm.Session` and does not commit; the
typed API (``exec_pipeline.api.execution.OrderManager``) owns the transactions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from exec_pipeline.lib.sqltypes import datetime_from_sqlite, require_utc
from exec_pipeline.models.execution import (
    MANAGER_STATUSES,
    MANAGER_TERMINAL_STATUSES,
    MANAGER_TRANSITIONS,
    ORDER_TERMINAL_STATUSES,
    OrderManagerTable,
    order_status_view,
)
from exec_pipeline.repositories import execution as repo

#: The main line of the lifecycle; :func:`advance_manager` walks it one legal step at a time.
MANAGER_MAIN_LINE = ("created", "submitted", "executing", "completed")


class OrderManagerError(ValueError):
    """Base of the order-manager errors."""


class OrderManagerNotFound(OrderManagerError, LookupError):
    pass


class OrderManagerConflict(OrderManagerError):
    """``create_batch`` was called again for a unique identifier with different arguments."""


class IllegalTransition(OrderManagerError):
    """A lifecycle transition the vocabulary does not allow; nothing was changed."""

    def __init__(self, unique_identifier: str, current: str, requested: str) -> None:
        allowed = sorted(MANAGER_TRANSITIONS.get(current, ()))
        super().__init__(
            f"order manager {unique_identifier!r} cannot go from {current!r} to {requested!r}; "
            f"from {current!r} it can go to: {', '.join(allowed) if allowed else 'nothing (terminal)'}"
        )
        self.current = current
        self.requested = requested


def validate_status(status: str) -> str:
    if status not in MANAGER_STATUSES:
        raise OrderManagerError(f"unknown order-manager status {status!r}; expected one of {', '.join(MANAGER_STATUSES)}")
    return status


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_manager(
    session: Session,
    *,
    unique_identifier: str,
    target_account_uid: uuid.UUID,
    target_time: dt.datetime,
    status: str = "created",
    strategy_identifier: str | None = None,
    metadata_json: dict[str, Any] | None = None,
    order_received_time: dt.datetime | None = None,
    execution_end: dt.datetime | None = None,
) -> OrderManagerTable:
    """Create the manager, or return the existing one if the arguments agree with it.

    Idempotent on ``unique_identifier``: account, target time and (when given) strategy and
    metadata must match the stored row, else :class:`OrderManagerConflict`. ``status`` is the
    initial status: the stored row may have moved on since, which is not a conflict.
    """
    validate_status(status)
    target_time = require_utc(target_time)
    now = _now()
    values = {
        "uid": uuid.uuid4(),
        "unique_identifier": unique_identifier,
        "target_account_uid": target_account_uid,
        "target_time": target_time,
        "status": status,
        "strategy_identifier": strategy_identifier,
        "metadata_json": metadata_json,
        "order_received_time": order_received_time,
        "execution_end": execution_end,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    # ON CONFLICT DO NOTHING: two concurrent creators end with one row, and both see it below
    session.execute(repo.insert_manager_if_absent(dialect, values))
    row = session.execute(repo.select_manager_by_unique_identifier(unique_identifier)).scalar_one()
    session.refresh(row)
    conflicts = []
    if row.target_account_uid != target_account_uid:
        conflicts.append(f"target_account_uid {row.target_account_uid} (asked {target_account_uid})")
    if row.target_time != target_time:
        conflicts.append(f"target_time {row.target_time.isoformat()} (asked {target_time.isoformat()})")
    if strategy_identifier is not None and row.strategy_identifier != strategy_identifier:
        conflicts.append(f"strategy_identifier {row.strategy_identifier!r} (asked {strategy_identifier!r})")
    if metadata_json is not None and row.metadata_json != metadata_json:
        conflicts.append(f"metadata_json {row.metadata_json!r} (asked {metadata_json!r})")
    if conflicts:
        raise OrderManagerConflict(
            f"order manager {unique_identifier!r} already exists with " + "; ".join(conflicts)
        )
    return row


def get_manager(session: Session, uid: uuid.UUID) -> OrderManagerTable:
    row = session.execute(repo.select_manager_by_uid(uid)).scalar_one_or_none()
    if row is None:
        raise OrderManagerNotFound(f"no order manager with uid {uid}")
    return row


def get_manager_by_unique_identifier(session: Session, unique_identifier: str) -> OrderManagerTable:
    row = session.execute(repo.select_manager_by_unique_identifier(unique_identifier)).scalar_one_or_none()
    if row is None:
        raise OrderManagerNotFound(f"no order manager with unique_identifier {unique_identifier!r}")
    return row


def find_managers(session: Session, **filters: Any) -> list[OrderManagerTable]:
    """Managers matching the filters of :func:`repositories.execution.select_managers`."""
    if filters.get("status") is not None:
        statuses = [filters["status"]] if isinstance(filters["status"], str) else filters["status"]
        for status in statuses:
            validate_status(status)
    return list(session.execute(repo.select_managers(**filters)).scalars())


def transition_manager(
    session: Session, uid: uuid.UUID, new_status: str, *, at: dt.datetime | None = None
) -> OrderManagerTable:
    """Move the manager to ``new_status`` if the lifecycle allows it; same status is a no-op.

    ``submitted`` stamps ``order_received_time`` and a terminal status stamps ``execution_end``
    (with ``at``, default now) unless already set. Concurrent transitions are compare-and-set:
    the loser re-reads and gets :class:`IllegalTransition` if its move is no longer legal.
    """
    validate_status(new_status)
    at = require_utc(at) if at is not None else _now()
    row = get_manager(session, uid)
    while True:
        current = row.status
        if current == new_status:
            return row
        if new_status not in MANAGER_TRANSITIONS[current]:
            raise IllegalTransition(row.unique_identifier, current, new_status)
        values: dict[str, Any] = {"updated_at": _now()}
        if new_status == "submitted" and row.order_received_time is None:
            values["order_received_time"] = at
        if new_status in MANAGER_TERMINAL_STATUSES and row.execution_end is None:
            values["execution_end"] = at
        result = session.execute(repo.update_manager_status(uid, current, new_status, values))
        session.expire(row)
        row = get_manager(session, uid)
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return row
        # someone else moved it first: decide again from the state they left


def advance_manager(
    session: Session, uid: uuid.UUID, target_status: str, *, at: dt.datetime | None = None
) -> OrderManagerTable:
    """Walk the main line (created -> submitted -> executing -> completed) up to ``target_status``.

    Used when facts show a later stage directly (a fill seen before any order report). Never
    moves backwards: a manager already at or past ``target_status`` (or terminal) is unchanged.
    """
    if target_status not in MANAGER_MAIN_LINE:
        raise OrderManagerError(f"advance_manager follows {' -> '.join(MANAGER_MAIN_LINE)}, not {target_status!r}")
    row = get_manager(session, uid)
    if row.status not in MANAGER_MAIN_LINE:
        return row  # cancelled / failed / expired: terminal
    start = MANAGER_MAIN_LINE.index(row.status)
    for step in MANAGER_MAIN_LINE[start + 1 : MANAGER_MAIN_LINE.index(target_status) + 1]:
        row = transition_manager(session, uid, step, at=at)
    return row


@dataclass(frozen=True)
class ManagerProgress:
    """What the facts say about one manager's orders."""

    orders: int
    orders_with_fills: int
    terminal_orders: int
    rejected_orders: int
    first_order_time: dt.datetime | None
    last_activity_time: dt.datetime | None

    def implied_status(self) -> str | None:
        """The status the facts imply (``None``: no orders seen yet).

        First order seen -> submitted; first fill -> executing; every order terminal -> completed
        if anything was filled, else failed when all were rejected, else cancelled.
        """
        if self.orders == 0:
            return None
        if self.terminal_orders == self.orders:
            if self.orders_with_fills:
                return "completed"
            return "failed" if self.rejected_orders == self.orders else "cancelled"
        return "executing" if self.orders_with_fills else "submitted"


def manager_progress(session: Session, unique_identifiers: Iterable[str] | None = None) -> dict[str, ManagerProgress]:
    """Per manager (by ``order_manager_identifier``), its orders' progress from the order_status view."""
    view = order_status_view
    terminal = view.c.order_status.in_(sorted(ORDER_TERMINAL_STATUSES))
    query = (
        select(
            view.c.order_manager_identifier,
            func.count(),
            func.sum(case((view.c.trade_count > 0, 1), else_=0)),
            func.sum(case((terminal, 1), else_=0)),
            func.sum(case((view.c.order_status == "rejected", 1), else_=0)),
            func.min(view.c.order_time),
            func.max(func.coalesce(view.c.last_event_time, view.c.last_trade_time, view.c.order_time)),
        )
        .where(view.c.order_manager_identifier.is_not(None))
        .group_by(view.c.order_manager_identifier)
    )
    if unique_identifiers is not None:
        query = query.where(view.c.order_manager_identifier.in_(list(unique_identifiers)))
    progress = {}
    for manager, orders, filled, terminal_count, rejected, first, last in session.execute(query):
        progress[manager] = ManagerProgress(
            orders=orders,
            orders_with_fills=int(filled or 0),
            terminal_orders=int(terminal_count or 0),
            rejected_orders=int(rejected or 0),
            first_order_time=_as_utc(first),
            last_activity_time=_as_utc(last),
        )
    return progress


def _as_utc(value: dt.datetime | str | None) -> dt.datetime | None:
    # MIN/MAX over the view lose the column type on SQLite (text); normalise both backends
    if value is None:
        return None
    if isinstance(value, str):
        return datetime_from_sqlite(value)
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def advance_managers_from_facts(
    session: Session, unique_identifiers: Iterable[str] | None = None
) -> dict[str, tuple[str, str]]:
    """Move registered managers forward to the status their orders' facts imply.

    Only through legal transitions and never backwards; terminal managers are left alone, and
    order-manager identifiers with no registered manager are ignored. Returns
    ``{unique_identifier: (old status, new status)}`` for the managers that moved.
    """
    moved: dict[str, tuple[str, str]] = {}
    for identifier, progress in manager_progress(session, unique_identifiers).items():
        row = session.execute(repo.select_manager_by_unique_identifier(identifier)).scalar_one_or_none()
        implied = progress.implied_status()
        if row is None or implied is None or row.status in MANAGER_TERMINAL_STATUSES or implied == row.status:
            continue
        old = row.status
        if implied in MANAGER_MAIN_LINE:
            if MANAGER_MAIN_LINE.index(implied) <= MANAGER_MAIN_LINE.index(old):
                continue
            if old == "created":
                transition_manager(session, row.uid, "submitted", at=progress.first_order_time)
            row = advance_manager(session, row.uid, implied, at=progress.last_activity_time)
        else:
            row = transition_manager(session, row.uid, implied, at=progress.last_activity_time)
        moved[identifier] = (old, row.status)
    return moved
