"""Every reaction that has a batch form is proven equal to its single form: over generated
runs of events (duplicates, tickets not known yet, versions out of order), applying the batch
handler to the run leaves the same tables and announces the same events as applying the
single handler to each event in turn, or, where the single path refuses some event, the batch
refuses the run too (a bus then applies it event by event). Real SQLite stores throughout."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from openticket.app.ports import DEFAULT_PAYOUT_TERMS
from openticket.core import events
from openticket.core.clock import isoformat_utc
from openticket.core.events import Envelope
from openticket.core.expiration import handlers as expiration_handlers
from openticket.core.money import Money
from openticket.core.notify import handlers as notify_handlers
from openticket.core.orders import handlers as orders_handlers
from openticket.core.orders import repository as orders_repository
from openticket.core.orders.model import TicketReplica
from openticket.core.payments import handlers as payments_handlers
from openticket.core.ports import BatchHandler, Handler, Transaction
from openticket.core.tickets import handlers as tickets_handlers
from openticket.core.tickets import repository as tickets_repository
from openticket.core.tickets.model import AVAILABLE, SOLD, Ticket
from openticket.store.db import create_store_engine
from openticket.store.migrate import ensure_schema
from openticket.store.uow import UnitOfWork

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TICKETS = [f"{n:032x}" for n in range(1, 5)]  # the last is never seeded: "not known yet"
ORDERS = [f"{n:032x}" for n in range(100, 106)]
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class RecordingTimer:
    """Stands in for the expiration scheduler (no real part can be asked what it was told):
    records what the handlers scheduled after commit."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[str, datetime]] = []

    def schedule(self, order_id: str, at: datetime) -> None:
        self.scheduled.append((order_id, at))

    def start(self) -> None: ...

    def shutdown(self) -> None: ...


@dataclass
class Store:
    engine: Engine
    uow: UnitOfWork
    timer: RecordingTimer = field(default_factory=RecordingTimer)

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows; the outbox without its random ids and positions."""
        with self.engine.connect() as conn:
            names = [
                row[0]
                for row in conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1")
                )
            ]
            found = {
                name: sorted(
                    (tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr
                )
                for name in names
                if name != "outbox"
            }
            found["outbox"] = [
                tuple(r)
                for r in conn.execute(
                    text("SELECT subject, data, caused_by FROM outbox ORDER BY seq")
                )
            ]
        return found


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "template.db"
    engine = create_store_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    return path


def _stores(template: Path, folder: Path, seed: Callable[[Transaction], None]) -> list[Store]:
    stores = []
    for name in ("single", "batch"):
        path = folder / f"{name}-{datetime.now().timestamp()}.db"
        shutil.copy(template, path)
        engine = create_store_engine(f"sqlite:///{path}")
        store = Store(engine, UnitOfWork(engine, lambda: NOW))
        with store.uow.write() as tx:
            seed(tx)
        stores.append(store)
    return stores


def _equal_effects(
    template: Path,
    folder: Path,
    seed: Callable[[Transaction], None],
    run: list[Envelope],
    single: Callable[[RecordingTimer], Handler],
    batch: Callable[[RecordingTimer], BatchHandler],
) -> None:
    one_by_one, together = _stores(template, folder, seed)
    single_refused = batch_refused = False
    try:
        with one_by_one.uow.write() as tx:
            for envelope in run:
                tx.cause = envelope.id  # what a broker's consumer sets; batches pass causes
                single(one_by_one.timer)(envelope, tx)
            tx.cause = None
    except Exception:
        single_refused = True
    try:
        with together.uow.write() as tx:
            batch(together.timer)(run, tx)
    except Exception:
        batch_refused = True
    try:
        if single_refused:
            assert batch_refused, "the batch applied a run the single handler refuses"
            return
        assert not batch_refused, "the batch refused a run the single handler applies"
        assert together.dump() == one_by_one.dump()
        assert together.timer.scheduled == one_by_one.timer.scheduled
    finally:
        one_by_one.engine.dispose()
        together.engine.dispose()


def _envelope(index: int, subject: str, data: dict[str, Any]) -> Envelope:
    return Envelope(f"{index + 1:032x}", subject, NOW, data, index + 1)


def _order_created(
    order_id: str, ticket_id: str, round_: int = 0, price: str = "12.50"
) -> dict[str, Any]:
    return {
        "id": order_id,
        "version": 0,
        "user_id": "b" * 32,
        "seller_id": "a" * 32,
        "status": "created",
        "expires_at": isoformat_utc(NOW + timedelta(minutes=15)),
        "ticket": {"id": ticket_id, "title": "Seat", "price": price, "currency": "USD"},
        "round": round_,
    }


orders_created = st.lists(
    st.tuples(st.sampled_from(ORDERS), st.sampled_from(TICKETS)), min_size=2, max_size=8
).map(
    lambda picks: [
        _envelope(i, events.ORDER_CREATED, _order_created(order_id, ticket_id))
        for i, (order_id, ticket_id) in enumerate(picks)
    ]
)


def _seed_listings(tx: Transaction) -> None:
    for ticket_id in TICKETS[:-1]:
        ticket = Ticket(ticket_id, "Seat", Money(1250, "USD"), "a" * 32, 0, AVAILABLE, None)
        tickets_repository.add(tx, ticket, NOW)


# Orders some of which the tickets domain refuses: of another round, or at an old price.
stale_orders_created = st.lists(
    st.tuples(
        st.sampled_from(ORDERS),
        st.sampled_from(TICKETS),
        st.integers(0, 1),
        st.sampled_from(["12.50", "10.00"]),
    ),
    min_size=2,
    max_size=8,
).map(
    lambda picks: [
        _envelope(i, events.ORDER_CREATED, _order_created(order_id, ticket_id, round_, price))
        for i, (order_id, ticket_id, round_, price) in enumerate(picks)
    ]
)


def _seed_moved_listings(tx: Transaction) -> None:
    """A listing on sale as first listed, one taken off sale, one listed again (round 1)."""
    on_sale, withdrawn, relisted = TICKETS[:3]
    price = Money(1250, "USD")
    tickets_repository.add(tx, Ticket(on_sale, "Seat", price, "a" * 32, 0, AVAILABLE, None), NOW)
    tickets_repository.add(tx, Ticket(withdrawn, "Seat", price, "a" * 32, 0, SOLD, None), NOW)
    tickets_repository.add(
        tx, Ticket(relisted, "Seat", price, "c" * 32, 0, AVAILABLE, None, round=1), NOW
    )


def _payments(subject: str) -> Callable[[RecordingTimer], Handler]:
    return lambda _timer: payments_handlers.build_handlers(lambda: DEFAULT_PAYOUT_TERMS)[subject]


def _nothing(_tx: Transaction) -> None:
    pass


def _ticket_data(ticket_id: str, version: int, price: int) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "version": version,
        "title": f"Seat v{version}",
        "price": f"{price / 100:.2f}",
        "currency": "EUR",
        "user_id": "a" * 32,
        "status": AVAILABLE,
        "order_id": None,
    }


def _ticket_runs(
    subject: str, versions: st.SearchStrategy[int]
) -> st.SearchStrategy[list[Envelope]]:
    return st.lists(
        st.tuples(st.sampled_from(TICKETS), versions, st.integers(1, 99_999)),
        min_size=2,
        max_size=8,
    ).map(
        lambda picks: [
            _envelope(i, subject, _ticket_data(ticket_id, version, price))
            for i, (ticket_id, version, price) in enumerate(picks)
        ]
    )


def _seed_replicas(tx: Transaction) -> None:
    for ticket_id in TICKETS[:-1]:
        orders_repository.add_ticket(
            tx, TicketReplica(ticket_id, "Seat", Money(1250, "EUR"), "a" * 32, 1)
        )


def _table(domain: Any, subject: str) -> Callable[[RecordingTimer], Handler]:
    return lambda _timer: domain.HANDLERS[subject]


def _batches(domain: Any, subject: str) -> Callable[[RecordingTimer], BatchHandler]:
    return lambda _timer: domain.BATCH_HANDLERS[subject]


CASES = {
    "tickets lock a run of orders": (
        orders_created,
        _seed_listings,
        _table(tickets_handlers, events.ORDER_CREATED),
        _batches(tickets_handlers, events.ORDER_CREATED),
    ),
    "payments replicate a run of orders": (
        orders_created,
        _nothing,
        _payments(events.ORDER_CREATED),
        _batches(payments_handlers, events.ORDER_CREATED),
    ),
    "tickets refuse a run of orders whose listings are gone": (
        stale_orders_created,
        _seed_moved_listings,
        _table(tickets_handlers, events.ORDER_CREATED),
        _batches(tickets_handlers, events.ORDER_CREATED),
    ),
    "expiration schedules a run of orders": (
        orders_created,
        _nothing,
        lambda timer: expiration_handlers.build_handlers(timer)[events.ORDER_CREATED],
        lambda timer: expiration_handlers.build_batch_handlers(timer)[events.ORDER_CREATED],
    ),
    "notify records the parties of a run of orders": (
        orders_created,
        _nothing,
        _table(notify_handlers, events.ORDER_CREATED),
        _batches(notify_handlers, events.ORDER_CREATED),
    ),
    "orders replicate a run of new tickets": (
        _ticket_runs(events.TICKET_CREATED, st.just(0)),
        _nothing,
        _table(orders_handlers, events.TICKET_CREATED),
        _batches(orders_handlers, events.TICKET_CREATED),
    ),
    "orders apply a run of ticket versions": (
        _ticket_runs(events.TICKET_UPDATED, st.integers(0, 4)),
        _seed_replicas,
        _table(orders_handlers, events.TICKET_UPDATED),
        _batches(orders_handlers, events.TICKET_UPDATED),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@EXAMPLES
@given(data=st.data())
def test_a_batch_has_the_effect_of_its_events_one_by_one(
    template: Path, tmp_path: Path, case: str, data: st.DataObject
) -> None:
    runs, seed, single, batch = CASES[case]
    _equal_effects(template, tmp_path, seed, data.draw(runs), single, batch)


def test_every_batch_handler_is_covered_here() -> None:
    """A batch handler added later must get its own property above."""
    timer = RecordingTimer()
    batches = {
        "tickets": set(tickets_handlers.BATCH_HANDLERS),
        "orders": set(orders_handlers.BATCH_HANDLERS),
        "payments": set(payments_handlers.BATCH_HANDLERS),
        "expiration": set(expiration_handlers.build_batch_handlers(timer)),
        "notify": set(notify_handlers.BATCH_HANDLERS),
    }
    # notify's single listing handler is its batch handler given a run of one.
    assert batches == {
        "tickets": {events.ORDER_CREATED},
        "orders": {events.TICKET_CREATED, events.TICKET_UPDATED},
        "payments": {events.ORDER_CREATED},
        "expiration": {events.ORDER_CREATED},
        "notify": {events.ORDER_CREATED, events.TICKET_CREATED, events.TICKET_UPDATED},
    }
