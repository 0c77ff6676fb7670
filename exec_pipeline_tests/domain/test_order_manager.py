"""The order-manager registry: the seed's example, idempotent creation, the validated lifecycle."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exec_pipeline.api.execution import IllegalTransition, OrderManager, OrderManagerConflict, OrderManagerNotFound
from exec_pipeline.models.execution import MANAGER_STATUSES, MANAGER_TRANSITIONS, OrderManagerTable

ACCOUNT = "00000000-0000-0000-0000-000000000000"
TARGET = dt.datetime(2026, 5, 26, 14, 0, tzinfo=dt.UTC)


def _count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(OrderManagerTable)).scalar_one()


def test_seed_example_runs_as_written(env_warehouse, engine):
    # the concept note's snippet, word for word apart from the module path
    import datetime as dt

    from exec_pipeline.api.execution import OrderManager

    manager = OrderManager.create_batch(
        unique_identifier="rebalance-2026-05-26",
        target_account_uid="00000000-0000-0000-0000-000000000000",
        target_time=dt.datetime.now(dt.UTC),
        status="created",
    )

    assert manager.status == "created"
    assert manager.target_account_uid == uuid.UUID(ACCOUNT)
    stored = OrderManager.get_by_unique_identifier("rebalance-2026-05-26", engine=engine)
    assert stored.uid == manager.uid
    assert stored.target_time == manager.target_time


def test_create_batch_is_idempotent(engine):
    first = OrderManager.create_batch(
        unique_identifier="rebal-1", target_account_uid=ACCOUNT, target_time=TARGET, engine=engine,
        strategy_identifier="momentum", metadata_json={"note": "weekly"},
    )
    again = OrderManager.create_batch(
        unique_identifier="rebal-1", target_account_uid=ACCOUNT, target_time=TARGET, engine=engine,
        strategy_identifier="momentum", metadata_json={"note": "weekly"},
    )
    assert again.uid == first.uid
    assert again.created_at == first.created_at
    assert _count(engine) == 1


def test_create_batch_after_the_manager_moved_on_returns_it(engine):
    manager = OrderManager.create_batch(unique_identifier="rebal-2", target_account_uid=ACCOUNT, target_time=TARGET, engine=engine)
    manager.submit(engine=engine)
    again = OrderManager.create_batch(unique_identifier="rebal-2", target_account_uid=ACCOUNT, target_time=TARGET, engine=engine)
    assert (again.uid, again.status) == (manager.uid, "submitted")


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"target_account_uid": "00000000-0000-0000-0000-000000000009"}, "target_account_uid"),
        ({"target_time": TARGET + dt.timedelta(microseconds=1)}, "target_time"),
        ({"strategy_identifier": "other"}, "strategy_identifier"),
    ],
)
def test_conflicting_create_batch_raises_and_changes_nothing(engine, changed, message):
    arguments = {"unique_identifier": "rebal-3", "target_account_uid": ACCOUNT, "target_time": TARGET,
                 "strategy_identifier": "momentum"}
    original = OrderManager.create_batch(**arguments, engine=engine)
    with pytest.raises(OrderManagerConflict, match=f"'rebal-3' already exists with {message}"):
        OrderManager.create_batch(**{**arguments, **changed}, engine=engine)
    stored = OrderManager.get(original.uid, engine=engine)
    assert stored == original
    assert _count(engine) == 1


def test_create_batch_validates_before_writing(engine):
    with pytest.raises(ValueError, match="timezone"):
        OrderManager.create_batch(unique_identifier="x", target_account_uid=ACCOUNT,
                                  target_time=dt.datetime(2026, 1, 1), engine=engine)
    with pytest.raises(ValueError, match="target_account_uid"):
        OrderManager.create_batch(unique_identifier="x", target_account_uid="not-a-uuid", target_time=TARGET, engine=engine)
    with pytest.raises(ValueError, match="status"):
        OrderManager.create_batch(unique_identifier="x", target_account_uid=ACCOUNT, target_time=TARGET,
                                  status="live", engine=engine)  # the SDK's free text is gone
    assert _count(engine) == 0


def test_main_line_lifecycle_stamps_times(engine):
    manager = OrderManager.create_batch(unique_identifier="life", target_account_uid=ACCOUNT, target_time=TARGET, engine=engine)
    received = dt.datetime(2026, 5, 26, 14, 0, 5, tzinfo=dt.UTC)
    finished = dt.datetime(2026, 5, 26, 15, 0, tzinfo=dt.UTC)
    manager.submit(at=received, engine=engine)
    manager.start_execution(engine=engine)
    manager.complete(at=finished, engine=engine)
    stored = OrderManager.get(manager.uid, engine=engine)
    assert stored.status == manager.status == "completed"
    assert stored.order_received_time == received
    assert stored.execution_end == finished
    assert stored.is_terminal


LEGAL = sorted((src, dst) for src, targets in MANAGER_TRANSITIONS.items() for dst in targets)
ILLEGAL = sorted(
    (src, dst)
    for src, dst in itertools.product(MANAGER_STATUSES, MANAGER_STATUSES)
    if src != dst and dst not in MANAGER_TRANSITIONS[src]
)


def _manager_in(engine, status: str) -> OrderManager:
    """A manager brought to ``status`` through legal steps only."""
    path = {"created": [], "submitted": ["submitted"], "executing": ["submitted", "executing"],
            "completed": ["submitted", "executing", "completed"], "cancelled": ["cancelled"],
            "failed": ["submitted", "failed"], "expired": ["expired"]}[status]
    manager = OrderManager.create_batch(unique_identifier=f"m-{uuid.uuid4()}", target_account_uid=ACCOUNT,
                                        target_time=TARGET, engine=engine)
    for step in path:
        manager.transition_to(step, engine=engine)
    assert manager.status == status
    return manager


def test_every_legal_transition(engine):
    assert len(LEGAL) == 12
    for source, target in LEGAL:
        manager = _manager_in(engine, source)
        manager.transition_to(target, engine=engine)
        assert OrderManager.get(manager.uid, engine=engine).status == target


@pytest.mark.parametrize(("source", "target"), [
    ("created", "executing"), ("created", "completed"), ("submitted", "created"), ("executing", "submitted"),
    ("completed", "executing"), ("completed", "cancelled"), ("cancelled", "submitted"), ("failed", "completed"),
    ("expired", "created"),
])
def test_illegal_transitions_raise_naming_both_states_and_change_nothing(engine, source, target):
    assert (source, target) in ILLEGAL
    manager = _manager_in(engine, source)
    before = OrderManager.get(manager.uid, engine=engine)
    with pytest.raises(IllegalTransition) as raised:
        manager.transition_to(target, engine=engine)
    assert f"from {source!r} to {target!r}" in str(raised.value)
    assert OrderManager.get(manager.uid, engine=engine) == before


def test_same_status_is_a_no_op(engine):
    manager = _manager_in(engine, "submitted")
    before = OrderManager.get(manager.uid, engine=engine)
    manager.submit(engine=engine)
    assert OrderManager.get(manager.uid, engine=engine) == before


def test_lookups_and_filters(engine):
    other = "00000000-0000-0000-0000-000000000001"
    for day, account in [(1, ACCOUNT), (2, ACCOUNT), (3, other)]:
        OrderManager.create_batch(unique_identifier=f"d{day}", target_account_uid=account,
                                  target_time=TARGET + dt.timedelta(days=day), engine=engine)
    OrderManager.get_by_unique_identifier("d2", engine=engine).submit(engine=engine)

    assert [m.unique_identifier for m in OrderManager.filter(target_account_uid=ACCOUNT, engine=engine)] == ["d1", "d2"]
    assert [m.unique_identifier for m in OrderManager.filter(status="submitted", engine=engine)] == ["d2"]
    window = OrderManager.filter(target_time_from=TARGET + dt.timedelta(days=2),
                                 target_time_to=TARGET + dt.timedelta(days=3), engine=engine)
    assert [m.unique_identifier for m in window] == ["d2"]
    with pytest.raises(OrderManagerNotFound, match="nope"):
        OrderManager.get_by_unique_identifier("nope", engine=engine)
    with pytest.raises(OrderManagerNotFound):
        OrderManager.get(uuid.uuid4(), engine=engine)


def test_caller_owned_session_commits_only_with_the_caller(engine):
    with Session(engine) as session:
        with session.begin():
            OrderManager.create_batch(unique_identifier="in-tx", target_account_uid=ACCOUNT, target_time=TARGET,
                                      session=session)
            assert _count_in(session) == 1
            session.rollback()
    assert _count(engine) == 0


def _count_in(session: Session) -> int:
    return session.execute(select(func.count()).select_from(OrderManagerTable)).scalar_one()


def test_concurrent_create_batch_makes_one_row(engine):
    errors: list[BaseException] = []
    uids: list[uuid.UUID] = []

    def create() -> None:
        try:
            uids.append(OrderManager.create_batch(unique_identifier="race", target_account_uid=ACCOUNT,
                                                  target_time=TARGET, engine=engine).uid)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(uids)) == 1
    assert _count(engine) == 1


# --- lifecycle driven by facts -------------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from exec_pipeline.data_nodes.execution import (  # noqa: E402
    ExtractFacts,
    OrderEventRecord,
    OrderRecord,
    TradeRecord,
    publish_partition,
)
from exec_pipeline.services.execution import advance_managers_from_facts  # noqa: E402


def _facts(manager: str, *, filled: bool, final_status: str | None) -> list:
    when = dt.datetime(2026, 5, 26, 14, 1, tzinfo=dt.UTC)
    records: list = [OrderRecord(1, when, f"o-{manager}", "aapl", 1, quantity=Decimal(10),
                                 order_manager_identifier=manager)]
    if filled:
        records.append(TradeRecord(2, when + dt.timedelta(minutes=1), f"t-{manager}", "aapl", 1, Decimal(10),
                                   order_identifier=f"o-{manager}", price=Decimal(1)))
    if final_status:
        records.append(OrderEventRecord(3, when + dt.timedelta(minutes=2), f"e-{manager}", f"o-{manager}", "aapl",
                                        final_status, order_status=final_status))
    return records


def _advance(engine) -> dict:
    with Session(engine) as session, session.begin():
        return advance_managers_from_facts(session)


@pytest.mark.parametrize(
    ("filled", "final_status", "expected"),
    [
        (False, None, "submitted"),
        (True, "partially_filled", "executing"),
        (True, "filled", "completed"),
        (False, "canceled", "cancelled"),
        (False, "rejected", "failed"),
    ],
)
def test_facts_move_managers_through_the_lifecycle(engine, filled, final_status, expected):
    manager = OrderManager.create_batch(unique_identifier="rebal", target_account_uid=ACCOUNT, target_time=TARGET,
                                        engine=engine)
    records = _facts("rebal", filled=filled, final_status=final_status)
    publish_partition("fixgw", dt.date(2026, 5, 26), [ExtractFacts("mem://f", "1" * 64, 1, "t", "1", records)],
                      engine=engine)
    assert _advance(engine) == {"rebal": ("created", expected)}
    stored = OrderManager.get(manager.uid, engine=engine)
    assert stored.status == expected
    assert stored.order_received_time == (dt.datetime(2026, 5, 26, 14, 1, tzinfo=dt.UTC) if expected in ("submitted", "executing", "completed") else None)
    # a second pass changes nothing
    assert _advance(engine) == {}


def test_facts_never_move_a_manager_backwards(engine):
    manager = OrderManager.create_batch(unique_identifier="late", target_account_uid=ACCOUNT, target_time=TARGET,
                                        engine=engine)
    manager.submit(engine=engine).start_execution(engine=engine).complete(engine=engine)
    publish_partition("fixgw", dt.date(2026, 5, 26),
                      [ExtractFacts("mem://f", "1" * 64, 1, "t", "1", _facts("late", filled=False, final_status=None))],
                      engine=engine)
    assert _advance(engine) == {}
    assert OrderManager.get(manager.uid, engine=engine).status == "completed"
