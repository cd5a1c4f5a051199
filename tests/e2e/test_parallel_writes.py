"""Writers on PostgreSQL run in parallel (no global write lock): each locks what it decides on,
the unique indexes stay the last guard, a deadlock is run again instead of failing, and the
event log's readers never skip nor repeat an event when transactions commit out of order.

A held-open transaction here is a real command paused by a test hook inside its transaction
(faults.hooked at "<command>:decided": everything written, nothing committed); the other
process is the real `openticket` console script, or a real `openticket serve`."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from openticket.app.api import OrderRequest
from openticket.app.local import LocalApi
from openticket.app.reserving import BatchReads, reserve_batch
from openticket.app.schemas import Order
from openticket.core import faults
from openticket.core.clock import utc_now
from openticket.core.errors import Conflict, NotSignedIn
from openticket.core.ports import Transaction
from openticket.core.tickets import repository as tickets_repository
from openticket.core.tickets.model import ImportRow
from openticket.store.uow import connection
from tests.conftest import (
    PATIENCE_SECONDS,
    User,
    eventually,
    postgres_database,
    running_server,
)

PASSWORD = "correct horse"


@pytest.fixture
def db_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def market(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api(clock=utc_now)  # the console script's processes read the real clock


@pytest.fixture
def other_process(tmp_path: Path, postgres_url: str) -> User:
    """A person at a terminal on the same database: every command another process."""
    home = tmp_path / "homes" / "other"
    return User(
        home=home, db_path=tmp_path / "unused.db", extra_env={"OPENTICKET_DB": postgres_url}
    )


@contextlib.contextmanager
def held(point: str, command: Callable[[], Any]) -> Iterator[dict[str, Any]]:
    """Run `command` in a thread of its own, paused at `point` (inside its transaction)
    while the block lasts; afterwards `outcome` holds what it returned or raised."""
    inside, released = threading.Event(), threading.Event()
    state: dict[str, Any] = {}

    def pause() -> None:
        if threading.current_thread() is thread:
            inside.set()
            assert released.wait(PATIENCE_SECONDS), "never released"

    def run() -> None:
        try:
            state["outcome"] = command()
        except Exception as error:
            state["outcome"] = error

    thread = threading.Thread(target=run)
    with faults.hooked(point, pause):
        thread.start()
        try:
            assert inside.wait(PATIENCE_SECONDS), f"the command never reached {point}"
            yield state
        finally:
            released.set()
            thread.join(PATIENCE_SECONDS)
    assert not thread.is_alive()


def _at_once(*actions: Callable[[], None]) -> None:
    """Run each action in a thread of its own, all at once, and wait for every one."""
    threads = [threading.Thread(target=action) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)
    assert not any(thread.is_alive() for thread in threads)


def _listed(market: LocalApi, *titles: str) -> tuple[Any, list[str]]:
    seller = market.signup("seller@example.com", PASSWORD)
    return seller, [market.create_ticket(seller.token, title, "10").id for title in titles]


def _waiting_on_a_lock(postgres_url: str) -> bool:
    """Whether some backend of this database waits for a lock another transaction holds."""
    name = make_url(postgres_url).database
    with psycopg.connect(_libpq(postgres_url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (name,),
        ).fetchone()
    return bool(row and row[0])


def test_a_transaction_held_open_on_one_ticket_holds_up_nobody_on_another(
    market: LocalApi, other_process: User
) -> None:
    _, (first, second) = _listed(market, "Seat 1", "Seat 2")
    buyer = market.signup("a@example.com", PASSWORD)
    other_process.ok("auth", "signup", "b@example.com", "--password", PASSWORD)

    with held("reserve:decided", lambda: market.create_order(buyer.token, first)) as paused:
        # Meanwhile another process reserves, cancels, reserves again and pays ticket 2,
        # each committed while the reservation of ticket 1 is still open.
        order = other_process.ok("orders", "create", second)
        assert other_process.ok("orders", "cancel", order["id"])["status"] == "cancelled"
        again = other_process.ok("orders", "create", second)
        paid = other_process.ok("pay", again["id"], "--card", "tok_visa")
        assert paid["order_id"] == again["id"]
        assert "outcome" not in paused  # ticket 1's reservation has not committed yet
        assert market.get_ticket(first).status == "available"

    assert paused["outcome"].status == "created"
    assert market.get_ticket(first).status == "reserved"
    assert market.get_ticket(second).status == "sold"


def test_a_reservation_of_the_same_ticket_waits_for_the_open_one_then_is_refused(
    market: LocalApi, other_process: User, postgres_url: str
) -> None:
    _, (ticket,) = _listed(market, "Seat 1")
    buyer = market.signup("a@example.com", PASSWORD)
    other_process.ok("auth", "signup", "b@example.com", "--password", PASSWORD)

    with held("reserve:decided", lambda: market.create_order(buyer.token, ticket)) as paused:
        rival = other_process.popen("orders", "create", ticket, "--json")
        eventually(lambda: _waiting_on_a_lock(postgres_url), what="the rival to wait for the lock")
        assert rival.poll() is None
    _, errors = rival.communicate(timeout=PATIENCE_SECONDS)
    assert rival.returncode == 5, errors  # a conflict: the ticket is reserved
    assert json.loads(errors)["errors"][0]["message"] == "Ticket is already reserved"
    assert paused["outcome"].status == "created"


def test_a_deadlock_between_two_commands_is_resolved_by_running_one_again(
    market: LocalApi,
) -> None:
    """Two commands that lock the same two tickets in opposite orders: PostgreSQL ends one of
    them with a deadlock, and the command runs again instead of failing."""
    _, (one, two) = _listed(market, "Seat 1", "Seat 2")
    commands = market.runtime.commands
    both_hold_their_first = threading.Barrier(2, timeout=PATIENCE_SECONDS)
    runs: Counter[str] = Counter()
    failures: list[BaseException] = []

    def crossing(name: str, first: str, second: str) -> Callable[[Transaction], None]:
        def body(tx: Transaction) -> None:
            runs[name] += 1
            tickets_repository.get(tx, first, lock=True)
            if runs[name] == 1:
                both_hold_their_first.wait()
            ticket = tickets_repository.get(tx, second, lock=True)
            assert ticket is not None
            tickets_repository.save(tx, ticket.edited(f"changed by {name}", None), tx.now)

        return body

    def run(name: str, first: str, second: str) -> None:
        try:
            commands.run(name, crossing(name, first, second))
        except BaseException as error:
            failures.append(error)

    _at_once(partial(run, "left", one, two), partial(run, "right", two, one))
    assert failures == []
    assert sorted(runs.values()) == [1, 2]  # one of them ran again
    assert market.runtime.uow.reruns == 1
    assert market.get_ticket(two).title == "changed by left"
    assert market.get_ticket(one).title == "changed by right"


def _sse_events(url: str, last_event_id: str | None) -> list[tuple[str, str]]:
    """(id, title) of the listing events a stream sends until it has sent its backlog."""
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    found = []
    with httpx.stream(
        "GET", f"{url}/api/events", params={"follow": "false"}, headers=headers, timeout=60
    ) as response:
        assert response.status_code == 200
        event_id = None
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if data["subject"] == "ticket:created":
                    found.append((str(event_id), data["data"]["title"]))
    return found


def test_readers_of_the_log_miss_and_repeat_nothing_when_commits_come_out_of_order(
    market: LocalApi, other_process: User, postgres_url: str, tmp_path: Path
) -> None:
    """The first listing writes its event (the lower number) and stays open; another process
    lists, writes a higher number and commits first. `events tail`, the server's stream
    resumed with Last-Event-ID, and Api.events each see both listings, once each, in commit
    order. (An event shows once every older transaction of this database has ended, the
    in-process bus's included: the readers go on reading until both have shown.)"""
    seller, _ = _listed(market, "Before")
    other_process.ok("auth", "signin", "seller@example.com", "--password", PASSWORD)
    (tmp_path / "server-home").mkdir()
    with running_server(postgres_url, tmp_path / "server-home") as url:
        start = market.last_event_seq()

        def sse(after: str) -> list[tuple[str, str | None]]:
            return [(position, title) for position, title in _sse_events(url, after)]

        def api(after: str) -> list[tuple[str, str | None]]:
            events = market.events(after=int(after), limit=100)
            return [
                (str(e.seq), e.data["title"] if e.subject == "ticket:created" else None)
                for e in events
            ]

        def tail(after: str) -> list[tuple[str, str | None]]:
            return [(str(position), title) for position, title in _tail(other_process, after)]

        readers = {"sse": sse, "tail": tail, "api": api}
        cursors = dict.fromkeys(readers, str(start))
        titles: dict[str, list[str]] = {name: [] for name in readers}

        def read(name: str) -> bool:
            """Read on from the reader's last event; whether both listings have shown."""
            for position, title in readers[name](cursors[name]):
                cursors[name] = position
                if title in ("Early", "Late"):  # ("Before" may show late, as said above)
                    titles[name].append(title)
            return len(titles[name]) >= 2

        for name in readers:
            read(name)
        early = lambda: market.create_ticket(seller.token, "Early", "10")  # noqa: E731
        with held("create-ticket:decided", early):
            other_process.ok("tickets", "create", "--title", "Late", "--price", "10")
            for name in readers:
                read(name)  # "Late" has committed; "Early" has not
        for name in readers:
            eventually(lambda name=name: read(name), what=f"{name} to show both listings")
    assert titles == {name: ["Early", "Late"] for name in readers}


def test_a_transaction_left_open_on_another_database_holds_back_no_event(
    market: LocalApi, other_process: User
) -> None:
    """Someone else's transaction on the same PostgreSQL server (another application, another
    openticket) has an id and stays open: new events of this marketplace still show at once
    to `events tail` and Api.events (pg_snapshot_xmin, the server's oldest transaction, held
    them all back until it ended)."""
    seller, _ = _listed(market, "Before")
    start = market.last_event_seq()
    with postgres_database() as elsewhere, psycopg.connect(_libpq(elsewhere)) as stranger:
        stranger.execute("SELECT pg_current_xact_id()")  # an id, left open
        market.create_ticket(seller.token, "Meanwhile", "10")

        def shown() -> bool:
            titles = [e.data.get("title") for e in market.events(after=start, limit=100)]
            tailed = [title for _, title in _tail(other_process, start)]
            return "Meanwhile" in titles and "Meanwhile" in tailed

        eventually(shown, what="the new listing's event while the other transaction is open")
        assert stranger.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS


def _libpq(url: str) -> str:
    return f"host=127.0.0.1 port=5432 user=postgres dbname={make_url(url).database}"


def _tail(person: User, after: int | str) -> list[tuple[int, str | None]]:
    """(position, listing title or None) of every event `events tail` prints."""
    lines = person.run("events", "tail", "--no-follow", "--after", str(after), "--json")
    assert lines.code == 0, lines.stderr
    events = [json.loads(line) for line in lines.stdout.splitlines()]
    return [
        (e["seq"], e["data"]["title"] if e["subject"] == "ticket:created" else None) for e in events
    ]


def test_a_failed_statement_in_a_batch_of_reservations_costs_only_its_own_request(
    market: LocalApi,
) -> None:
    """On PostgreSQL a failed statement spoils the whole transaction: a batch that meets
    one runs again with a savepoint per request, and only that request is refused."""
    _, (one, two) = _listed(market, "Seat 1", "Seat 2")
    ann = market.signup("ann@example.com", PASSWORD).token
    bob = market.signup("bob@example.com", PASSWORD).token
    reserve_one = market._reserve

    def reserve(tx: Transaction, request: OrderRequest, reads: BatchReads) -> Order:
        if request.ticket_id == two:
            try:
                connection(tx).execute(text("SELECT 1 / 0"))  # a statement that fails
            except DBAPIError:
                raise Conflict("refused by a failed statement") from None
        return reserve_one(tx, request, reads)

    requests = [OrderRequest(ann, one), OrderRequest(bob, two)]
    outcomes = reserve_batch(market.runtime.commands, market._keys, requests, reserve)

    assert [type(outcome) for outcome in outcomes] == [Order, Conflict]
    assert [order.ticket_id for order in market.list_orders(ann)] == [one]
    assert market.list_orders(bob) == []


def test_two_imports_of_one_seller_at_once_take_turns(market: LocalApi) -> None:
    """New external ids have no row to lock: a seller's imports take turns, so a retried
    upload that overlaps the first finds its listings instead of failing on them."""
    seller = market.signup("seller@example.com", PASSWORD).token

    def rows() -> Iterator[ImportRow]:
        for n in range(300):
            yield ImportRow(line=n + 2, title=f"Seat {n}", price="12.50", external_id=f"e{n}")

    reports: list[Any] = []

    def upload() -> None:
        try:
            reports.append(market.import_tickets(seller, rows()))
        except Exception as error:
            reports.append(error)

    _at_once(upload, upload)
    assert sorted((r.created, r.skipped) for r in reports) == [(0, 300), (300, 0)]
    assert market.count_tickets() == 300


def test_one_token_signed_out_twice_at_once_is_no_error(market: LocalApi) -> None:
    """Both revoke it, or the later one finds it revoked already (as a second sign-out
    does): never a collision on the revocation row."""
    token = market.signup("ann@example.com", PASSWORD).token
    start = threading.Barrier(2, timeout=PATIENCE_SECONDS)
    errors: list[BaseException] = []

    def sign_out() -> None:
        start.wait()
        try:
            market.signout(token)
        except NotSignedIn:
            pass  # the other one revoked it first
        except BaseException as error:
            errors.append(error)

    _at_once(sign_out, sign_out)
    assert errors == []
    with pytest.raises(NotSignedIn):
        market.whoami(token)
