"""Migrations match the tables; the store is SQLite in WAL mode; auth tokens behave."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, select, text

from openticket.app.local import LocalApi
from openticket.core.clock import utc_now
from openticket.core.errors import Conflict, InvalidInput, NotSignedIn
from openticket.core.ids import new_id, new_ids
from openticket.store import outbox, outbox_log
from openticket.store.db import create_store_engine
from openticket.store.migrate import HEAD_REVISION, current_revision, script_location, upgrade
from openticket.store.schema import metadata
from openticket.store.uow import UnitOfWork
from tests.conftest import postgres_database


def test_head_revision_constant_matches_the_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", script_location())
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrated_schema_matches_the_tables(tmp_path: Path, backend: str) -> None:
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'm.db'}"
        else:
            url = stack.enter_context(postgres_database())
        engine = create_store_engine(url)
        stack.callback(engine.dispose)
        assert current_revision(engine) is None
        assert upgrade(engine) == HEAD_REVISION
        assert upgrade(engine) == HEAD_REVISION  # idempotent
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []


def test_the_event_log_takes_positions_past_32_bits(postgres_url: str) -> None:
    engine = create_store_engine(postgres_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('outbox_seq_seq', 3000000000)"))
        uow = UnitOfWork(engine, utc_now)
        with uow.write() as tx:
            envelope = tx.emit("ticket:created", {"id": "x"})
        assert envelope.sequence == 3000000001
        with uow.read() as tx:
            assert outbox_log.read_log(tx.conn, 3000000000, 10)[0].sequence == 3000000001
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(api: LocalApi, db_url: str) -> None:
    with sqlite3.connect(Path(db_url.removeprefix("sqlite:///"))) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_passwords_are_argon2_hashes(api: LocalApi, db_url: str) -> None:
    api.signup("who@example.com", "a secret phrase")
    with sqlite3.connect(Path(db_url.removeprefix("sqlite:///"))) as conn:
        [(stored,)] = conn.execute("SELECT password_hash FROM auth_users").fetchall()
    assert stored.startswith("$argon2id$") and "a secret phrase" not in stored


def test_tokens(api: LocalApi) -> None:
    session = api.signup("who@example.com", "a secret phrase")
    assert api.whoami(session.token).email == "who@example.com"
    for forged in ("", "garbage", session.token[:-2] + "xx"):
        with pytest.raises(NotSignedIn):
            api.whoami(forged)
    second = api.signin("WHO@example.com", "a secret phrase")
    api.signout(session.token)
    with pytest.raises(NotSignedIn):
        api.whoami(session.token)
    assert api.whoami(second.token).email == "who@example.com"  # other sessions live on
    with pytest.raises(NotSignedIn):
        api.signout(session.token)


def test_expired_tokens_are_refused(api: LocalApi, clock: object) -> None:
    session = api.signup("who@example.com", "a secret phrase")
    clock.advance(31 * 24 * 3600)  # type: ignore[attr-defined]
    with pytest.raises(NotSignedIn):
        api.whoami(session.token)


def test_emails_are_unique_case_insensitively(api: LocalApi) -> None:
    api.signup("Who@Example.com", "a secret phrase")
    with pytest.raises(Conflict, match="Email in use"):
        api.signup("who@example.COM", "another phrase")
    with pytest.raises(InvalidInput, match="Invalid credentials"):
        api.signin("who@example.com", "wrong phrase")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_claim_many_returns_only_the_events_not_yet_processed(tmp_path: Path, backend: str) -> None:
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'c.db'}"
        else:
            url = stack.enter_context(postgres_database())
        _check_claim_many(url)


def _check_claim_many(url: str) -> None:
    engine = create_store_engine(url)
    upgrade(engine)
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    with engine.begin() as conn:
        assert outbox.claim_many(conn, "orders", ["a", "b"], now) == {"a", "b"}
    with engine.begin() as conn:
        # "b" is claimed already: it is left out, the rest lands (a repeat counts once)
        assert outbox.claim_many(conn, "orders", ["b", "c", "d", "c"], now) == {"c", "d"}
        assert outbox.claim_many(conn, "payments", ["b"], now) == {"b"}
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.processed_events.c.consumer, outbox.processed_events.c.event_id)
        ).all()
        stored = conn.execute(select(outbox.processed_events.c.processed_at)).scalars().first()
    engine.dispose()
    assert sorted(rows) == [
        ("orders", "a"),
        ("orders", "b"),
        ("orders", "c"),
        ("orders", "d"),
        ("payments", "b"),
    ]
    assert stored == now  # bulk-inserted timestamps read back as the same aware UTC instant


def test_ids_are_time_ordered_uuid7() -> None:
    first = new_id()
    time.sleep(0.002)
    later = [new_id() for _ in range(1000)]
    assert len(set(later)) == 1000
    assert all(first < other for other in later)
    parsed = uuid.UUID(first)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert abs(int(first[:12], 16) / 1000 - time.time()) < 60


def test_ids_made_in_bulk_are_distinct_uuid7() -> None:
    made = new_ids(5000)
    assert len(set(made)) == 5000
    assert all(len(made_id) == 32 for made_id in made)
    assert {(uuid.UUID(i).version, uuid.UUID(i).variant) for i in made} == {(7, uuid.RFC_4122)}
    assert all(abs(int(i[:12], 16) / 1000 - time.time()) < 60 for i in made)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_orders_an_expiry_cancelled_show_as_expired_after_the_upgrade(
    tmp_path: Path, backend: str
) -> None:
    """Before 0006 an expired order was stored as `cancelled`; its `order:cancelled` event
    says why, and the migration gives it its own status (a buyer's cancel stays)."""
    with contextlib.ExitStack() as stack:
        engine, migrate_to = _store_at(stack, tmp_path, backend)
        migrate_to("0005")
        expired, cancelled = new_id(), new_id()
        data = "CAST(:data AS JSON)" if backend == "postgresql" else ":data"
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            for order_id, reason in ((expired, "expired"), (cancelled, "cancelled")):
                conn.execute(
                    text(
                        "INSERT INTO orders (id, user_id, ticket_id, ticket_title, price_minor,"
                        " currency, status, expires_at, version, payment_attempt, created_at)"
                        " VALUES (:id, 'u', 't', 'T', 100, 'USD', 'cancelled', :now, 1, 0, :now)"
                    ),
                    {"id": order_id, "now": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO outbox (event_id, subject, occurred_at, data, attempts)"
                        f" VALUES (:event_id, 'order:cancelled', :now, {data}, 0)"
                    ),
                    {
                        "event_id": new_id(),
                        "now": now,
                        "data": f'{{"id": "{order_id}", "version": 1, "reason": "{reason}"}}',
                    },
                )
        assert upgrade(engine) == HEAD_REVISION
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, status FROM orders")).all())
        assert rows == {expired: "expired", cancelled: "cancelled"}


def test_events_written_before_the_upgrade_to_0007_stay_readable_and_first(
    postgres_url: str,
) -> None:
    """0007 gives every outbox row its writer's transaction id; the rows already there take
    the migration's own, so the log still reads them, before anything written after."""
    from alembic import command

    engine = create_store_engine(postgres_url)
    try:
        config = Config()
        config.set_main_option("script_location", script_location())
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0006")
        insert = text(
            "INSERT INTO outbox (event_id, subject, occurred_at, data, attempts)"
            " VALUES (:event_id, 'ticket:created', now(), CAST('{}' AS JSON), 0)"
        )
        with engine.begin() as conn:
            conn.execute(insert, {"event_id": "before-the-upgrade"})
        assert upgrade(engine) == HEAD_REVISION
        with engine.begin() as conn:
            conn.execute(insert, {"event_id": "after-the-upgrade"})
        with engine.connect() as conn:
            read = [envelope.id for envelope in outbox_log.read_log(conn, 0, 10)]
            last = outbox_log.last_seq(conn)
        assert read == ["before-the-upgrade", "after-the-upgrade"]
        assert last == 2
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_orders_made_before_payouts_know_their_seller_after_the_upgrade(
    tmp_path: Path, backend: str
) -> None:
    """0009: an open order of an earlier version, paid after the upgrade, owes its seller a
    payout (payments' copy of it learns seller and ticket); a completed one knows its seller
    (from the sale's record), so that the seller may refund it."""
    with contextlib.ExitStack() as stack:
        engine, migrate_to = _store_at(stack, tmp_path, backend)
        migrate_to("0008")
        now = datetime.now(UTC).replace(tzinfo=None)
        open_id, sold_id, ticket_a, ticket_b = new_id(), new_id(), new_id(), new_id()
        seller, buyer = "s" * 32, "b" * 32
        with engine.begin() as conn:
            for ticket_id in (ticket_a, ticket_b):
                conn.execute(
                    text(
                        "INSERT INTO orders_tickets (id, title, price_minor, currency, owner_id,"
                        " version, round, on_sale) VALUES (:id, 'T', 100, 'USD', :seller, 1, 0,"
                        " :on_sale)"
                    ),
                    {"id": ticket_id, "seller": seller, "on_sale": ticket_id == ticket_a},
                )
            for order_id, ticket_id, status in (
                (open_id, ticket_a, "created"),
                (sold_id, ticket_b, "complete"),
            ):
                conn.execute(
                    text(
                        "INSERT INTO orders (id, user_id, ticket_id, ticket_title, price_minor,"
                        " currency, status, expires_at, version, payment_attempt, ticket_round,"
                        " created_at) VALUES (:id, :buyer, :ticket, 'T', 100, 'USD', :status,"
                        " :now, 0, 0, 0, :now)"
                    ),
                    {
                        "id": order_id,
                        "buyer": buyer,
                        "ticket": ticket_id,
                        "status": status,
                        "now": now,
                    },
                )
                conn.execute(
                    text(
                        "INSERT INTO payments_orders (id, user_id, price_minor, currency, status,"
                        " expires_at, version) VALUES (:id, :buyer, 100, 'USD', :status, :now, 0)"
                    ),
                    {"id": order_id, "buyer": buyer, "status": status, "now": now},
                )
            conn.execute(
                text(
                    "INSERT INTO ticket_transfers (ticket_id, from_id, to_id, kind, serial,"
                    " price_minor, currency, order_id, at) VALUES (:ticket, :seller, :buyer,"
                    " 'sale', 1, 100, 'USD', :order, :now)"
                ),
                {
                    "ticket": ticket_b,
                    "seller": seller,
                    "buyer": buyer,
                    "order": sold_id,
                    "now": now,
                },
            )
        assert upgrade(engine) == HEAD_REVISION
        with engine.connect() as conn:
            orders = dict(conn.execute(text("SELECT id, seller_id FROM orders")).all())
            copies = {
                row[0]: (row[1], row[2])
                for row in conn.execute(
                    text("SELECT id, seller_id, ticket_id FROM payments_orders")
                )
            }
        assert orders == {open_id: seller, sold_id: seller}
        assert copies == {open_id: (seller, ticket_a), sold_id: (seller, ticket_b)}


def _store_at(
    stack: contextlib.ExitStack[Any], tmp_path: Path, backend: str
) -> tuple[Engine, Callable[[str], None]]:
    """An empty store on `backend`, and how to migrate it to a revision."""
    from alembic import command

    url = (
        f"sqlite:///{tmp_path / 'm.db'}"
        if backend == "sqlite"
        else stack.enter_context(postgres_database())
    )
    engine = create_store_engine(url)
    stack.callback(engine.dispose)
    config = Config()
    config.set_main_option("script_location", script_location())

    def migrate_to(revision: str) -> None:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)

    return engine, migrate_to


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_watches_saved_before_are_found_by_their_folded_search(
    tmp_path: Path, backend: str
) -> None:
    """0015: a watch saved before keeps its search case folded too, so the database finds
    it for a new listing."""
    with contextlib.ExitStack() as stack:
        engine, migrate_to = _store_at(stack, tmp_path, backend)
        migrate_to("0014")
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO notify_watches (id, user_id, search, created_at)"
                    " VALUES (:id, :user, 'Straße [/]', :now)"
                ),
                {"id": "w" * 32, "user": "u" * 32, "now": now},
            )
        migrate_to("head")
        with engine.connect() as conn:
            found = conn.execute(text("SELECT search, search_folded FROM notify_watches")).all()
        assert [tuple(row) for row in found] == [("Straße [/]", "strasse [/]")]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_orders_made_before_notifications_are_known_to_the_notify_domain(
    tmp_path: Path, backend: str
) -> None:
    """0011: the later news of an order made before (its expiry, its sale, its payout) has
    someone to go to: notify learns each order's buyer, seller, ticket and title."""
    with contextlib.ExitStack() as stack:
        engine, migrate_to = _store_at(stack, tmp_path, backend)
        migrate_to("0010")
        now = datetime.now(UTC).replace(tzinfo=None)
        order_id, ticket_id = new_id(), new_id()
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO orders (id, user_id, ticket_id, ticket_title, price_minor,"
                    " currency, status, expires_at, version, payment_attempt, ticket_round,"
                    " created_at, seller_id) VALUES (:id, :buyer, :ticket, 'Gala [/]', 100,"
                    " 'USD', 'created', :now, 0, 0, 0, :now, :seller)"
                ),
                {
                    "id": order_id,
                    "buyer": "b" * 32,
                    "ticket": ticket_id,
                    "now": now,
                    "seller": "s" * 32,
                },
            )
        migrate_to("head")
        with engine.connect() as conn:
            found = conn.execute(text("SELECT * FROM notify_orders")).all()
        assert [tuple(row) for row in found] == [
            (order_id, "b" * 32, "s" * 32, ticket_id, "Gala [/]")
        ]


def test_which_consumers_applied_an_event_is_found_by_index(postgres_url: str) -> None:
    """A command waiting for its events' consumers asks this on every look: on a long-lived
    marketplace's inbox, a scan of the whole table would be most of the database's work."""
    engine = create_store_engine(postgres_url)
    try:
        upgrade(engine)
        now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
        history = new_ids(20_000)
        with engine.begin() as conn:
            for consumer in ("tickets", "orders", "payments", "expiration", "notify"):
                outbox.claim_many(conn, consumer, history, now)
            conn.execute(text("ANALYZE processed_events"))
        asked: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if "processed_events" in statement:
                asked.append((statement, params))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            with engine.connect() as conn:
                found = outbox.processed(conn, history[5:8])
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        assert len(found) == 15  # three events, five consumers each
        [(statement, params)] = asked
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cursor:
                plan = "\n".join(
                    row[0] for row in cursor.execute(f"EXPLAIN {statement}", params).fetchall()
                )
        assert "ix_processed_events_event_id" in plan, plan
        assert "Seq Scan" not in plan, plan
    finally:
        engine.dispose()
