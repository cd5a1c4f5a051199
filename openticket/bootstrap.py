"""The composition root: settings and adapters in, a ready LocalApi out. Tests call it too,
passing a clock, cheap password hashing or another payment provider instead of patching."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from openticket.app.commands import Commands
from openticket.app.local import LocalApi
from openticket.app.ports import EventBus, Terms
from openticket.app.runtime import Runtime
from openticket.app.webhook_sender import WebhookSender
from openticket.bus.memory import InProcessBus
from openticket.config import ALL_DOMAINS, UNAWAITED_DOMAINS, Settings
from openticket.core.auth import handlers as auth_handlers
from openticket.core.auth import repository as auth_repository
from openticket.core.auth.keys import EnvKeyRing
from openticket.core.auth.passwords import Argon2Hasher, BoundedHasher, PasswordHasher
from openticket.core.clock import Clock, utc_now
from openticket.core.errors import InvalidInput
from openticket.core.expiration import handlers as expiration_handlers
from openticket.core.expiration.model import ExpiryTimer
from openticket.core.key_file import FileKeyRing
from openticket.core.key_table import TableKeyRing
from openticket.core.notify import handlers as notify_handlers
from openticket.core.orders import handlers as orders_handlers
from openticket.core.payments import handlers as payments_handlers
from openticket.core.payments.provider import PaymentProvider
from openticket.core.ports import Handler
from openticket.core.signing_keys import KeyRing
from openticket.core.tickets import handlers as tickets_handlers
from openticket.core.tickets.holding import repository as holding_repository
from openticket.providers.local import LocalProvider
from openticket.store.db import create_store_engine, readable_by_others, sqlite_file
from openticket.store.event_log import OutboxLog
from openticket.store.idempotency import IdempotencyRecords
from openticket.store.migrate import ensure_schema
from openticket.store.uow import UnitOfWork

if TYPE_CHECKING:
    from openticket.server.routes.stripe import StripeWebhooks


@dataclass
class Overrides:
    clock: Clock = utc_now
    hasher: PasswordHasher | None = None
    provider: PaymentProvider | None = None
    run_expiration_jobs: bool = False
    domains: tuple[str, ...] = field(default=ALL_DOMAINS)
    # On a broker a command waits until its events' consumers applied them, so that whoever
    # gave it reads what it did; nobody waits for what a worker does on its own.
    read_your_writes: bool = True


def bootstrap(settings: Settings, overrides: Overrides | None = None) -> LocalApi:
    from openticket.scheduler import ApschedulerTimer

    options = overrides or Overrides()
    if "payments" in options.domains:
        # Read when an order completes, by an event's reaction: a mistake must stop the
        # process that would make that reaction now, not leave sellers unpaid later.
        _ = settings.payout_terms
    engine = create_store_engine(settings.db_url)
    ensure_schema(engine)
    uow = UnitOfWork(engine, options.clock)
    timer = ApschedulerTimer(
        engine,
        fire_due=lambda until: runtime.fire_due_expirations(until),
        run_jobs=options.run_expiration_jobs,
        on_leader=lambda: runtime.schedule_pending_expirations(),
    )
    bus = event_bus(settings, uow, options.domains, timer, options.read_your_writes)
    subscribe_domains(bus, timer, options.domains, settings)
    provider = options.provider or payment_provider(settings, engine, options.clock)
    payment_lease = timedelta(seconds=settings.payment_grace or provider.patience_seconds)
    api = assemble(
        uow=uow,
        bus=bus,
        timer=timer,
        keys=key_ring(settings, uow),
        code_keys=code_key_ring(settings),
        hasher=BoundedHasher(options.hasher or Argon2Hasher()),
        provider=provider,
        terms=settings,
        payment_lease=payment_lease,
        on_close=engine.dispose,
    )
    runtime = api.runtime
    if "notify" in options.domains:
        from openticket.providers.webhook_http import HttpWebhookTransport

        runtime.webhooks = WebhookSender(
            uow, HttpWebhookTransport(), allow_private=settings.webhook_allow_private
        )
    api.start()
    if options.run_expiration_jobs:
        runtime.run_expiration_jobs()
    return api


def assemble(
    *,
    uow: UnitOfWork,
    bus: EventBus,
    timer: ExpiryTimer,
    keys: KeyRing,
    hasher: PasswordHasher,
    provider: PaymentProvider,
    code_keys: KeyRing | None = None,
    terms: Terms,
    payment_lease: timedelta,
    on_close: Callable[[], None] = lambda: None,
) -> LocalApi:
    """The application on these adapters (a test may pass its own)."""
    commands = Commands(uow, bus)
    runtime = Runtime(
        uow=uow,
        commands=commands,
        bus=bus,
        event_log=OutboxLog(),
        provider=provider,
        timer=timer,
        payment_lease=payment_lease,
    )
    return LocalApi(
        runtime,
        idempotency=IdempotencyRecords(),
        keys=keys,
        code_keys=code_keys or TableKeyRing(holding_repository),
        hasher=hasher,
        terms=terms,
        on_close=on_close,
    )


def _store_engine(api: LocalApi) -> Engine:
    uow = api.runtime.uow
    assert isinstance(uow, UnitOfWork)
    return uow.engine


def shared_windows(api: LocalApi) -> Callable[[str, int, float], Any]:
    """How a server keeps its throttling windows: in the store on PostgreSQL (every server of
    the marketplace counts the same attempts), else in its memory."""
    from openticket.server.ratelimit import memory_window

    engine = _store_engine(api)
    if engine.dialect.name != "postgresql":
        return memory_window
    from openticket.store.throttle import StoreWindow

    return lambda name, limit, seconds: StoreWindow(engine, name, limit, seconds)


def stripe_webhooks(api: LocalApi, secrets: tuple[str, ...]) -> StripeWebhooks | None:
    """What a server answers Stripe's webhooks with; None where no secret is set."""
    if not secrets:
        return None
    from openticket.app.stripe_events import StripeEvents
    from openticket.server.routes.stripe import StripeWebhooks

    return StripeWebhooks(secrets, StripeEvents(api.runtime))


def upgrade_store(settings: Settings) -> tuple[str, str | None]:
    """Apply the schema migrations: (the store, its password hidden; the revision it is at)."""
    from openticket.store.db import redact_url
    from openticket.store.migrate import upgrade

    engine = create_store_engine(settings.db_url)
    try:
        return redact_url(settings.db_url), upgrade(engine)
    finally:
        engine.dispose()


def store_errors() -> tuple[type[Exception], type[Exception]]:
    """(the store cannot be reached now, any error of the store's driver): the types the
    entry points turn into answers, so that they need not know the database library."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    return OperationalError, DBAPIError


def key_ring(settings: Settings, uow: UnitOfWork) -> KeyRing:
    """Where the token signing keys are: OPENTICKET_SECRET_KEY, else a file beside a SQLite
    database (keys an earlier version kept in its tables move there), else the store."""
    if settings.secret_keys:
        return EnvKeyRing(settings.secret_keys)
    path = sqlite_file(settings.db_url)
    if path is None:
        return TableKeyRing(auth_repository)
    ring = FileKeyRing(key_file(path))
    if not ring.path.exists():
        with uow.read() as tx:
            legacy = auth_repository.signing_keys(tx)
        if legacy:
            ring.adopt(legacy)
            with uow.write() as tx:
                auth_repository.delete_signing_keys(tx)
    return ring


def key_file(database: Path) -> Path:
    return database.with_name(database.name + ".keys")


def code_key_ring(settings: Settings) -> KeyRing:
    """Where the keys ticket codes are signed with are: a file beside a SQLite database (as
    the token keys'), else the store's own table."""
    path = sqlite_file(settings.db_url)
    if path is None:
        return TableKeyRing(holding_repository)
    return FileKeyRing(code_key_file(path))


def code_key_file(database: Path) -> Path:
    return database.with_name(database.name + ".codekeys")


def exposed_files(settings: Settings) -> list[Path]:
    """The database and key files of this marketplace that other local users can read."""
    database = sqlite_file(settings.db_url)
    if database is None:
        return []
    files = (database, key_file(database), code_key_file(database))
    return [path for path in files if readable_by_others(path)]


def event_bus(
    settings: Settings,
    uow: UnitOfWork,
    domains: tuple[str, ...],
    timer: ExpiryTimer,
    read_your_writes: bool = True,
) -> EventBus:
    """The in-process bus by default; NATS JetStream with OPENTICKET_BUS=nats://…"""
    if settings.bus_url is None:
        if set(domains) != set(ALL_DOMAINS):
            raise InvalidInput(
                "Hosting only some domains needs a shared bus: set OPENTICKET_BUS=nats://…",
                "domains",
            )
        return InProcessBus(uow)
    from openticket.bus.jetstream import JetStreamBus

    consumers = consumers_by_subject(timer, settings)
    if not read_your_writes:
        consumers = {}  # a command waits for none
    return JetStreamBus(uow, settings.bus_url, settings.nats_stream, consumers)


def hosting(settings: Settings, domains: str, *, serving: bool = True) -> LocalApi:
    """The Api of a long-running process (`serve`, `worker`) hosting these domains; it runs
    the expiration jobs when it hosts `expiration` (and holds the leader lock). `serving`:
    people give it commands and read what they did; a worker's commands wait for nobody."""
    hosted = parse_domains(domains)
    # A process that serves others checks every setting before it starts: its clients could
    # not fix one.
    _ = settings.order_ttl, settings.offer_ttl, settings.currency
    overrides = Overrides(
        run_expiration_jobs="expiration" in hosted, domains=hosted, read_your_writes=serving
    )
    return bootstrap(settings, overrides)


def parse_domains(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in ALL_DOMAINS]
    if unknown or not names:
        raise InvalidInput(
            f"Unknown domain {', '.join(unknown) or '(none)'}: use any of {', '.join(ALL_DOMAINS)}",
            "domains",
        )
    return names


def payment_provider(settings: Settings, engine: Engine, clock: Clock) -> PaymentProvider:
    """Stripe when a secret key is configured, else the built-in `local` provider."""
    if settings.stripe is None:
        return LocalProvider(engine, clock)
    from openticket.providers.stripe import StripeProvider
    from openticket.providers.stripe_connect import DEFAULT_RETURN_URL

    return StripeProvider(
        settings.stripe.api_key,
        api_base=settings.stripe.api_base,
        timeout=settings.stripe.timeout,
        return_url=settings.stripe.return_url or DEFAULT_RETURN_URL,
    )


def consumers_by_subject(timer: ExpiryTimer, terms: Terms) -> dict[str, set[str]]:
    """Which domains handle each subject, whichever of them this process hosts (a command
    waits for all of them on a broker)."""
    consumers: dict[str, set[str]] = {}
    for domain, table in _handler_tables(timer, terms).items():
        if domain in UNAWAITED_DOMAINS:
            continue
        for subject in table:
            consumers.setdefault(subject, set()).add(domain)
    return consumers


def _handler_tables(timer: ExpiryTimer, terms: Terms) -> dict[str, dict[str, Handler]]:
    return {
        "auth": auth_handlers.HANDLERS,
        "tickets": tickets_handlers.HANDLERS,
        "orders": orders_handlers.HANDLERS,
        "payments": payments_handlers.build_handlers(lambda: terms.payout_terms),
        "expiration": expiration_handlers.build_handlers(timer),
        "notify": notify_handlers.HANDLERS,
    }


def subscribe_domains(
    bus: EventBus, timer: ExpiryTimer, domains: tuple[str, ...], terms: Terms
) -> None:
    tables = _handler_tables(timer, terms)
    batches = {
        "tickets": tickets_handlers.BATCH_HANDLERS,
        "orders": orders_handlers.BATCH_HANDLERS,
        "payments": payments_handlers.BATCH_HANDLERS,
        "expiration": expiration_handlers.build_batch_handlers(timer),
        "notify": notify_handlers.BATCH_HANDLERS,
    }
    for domain in domains:
        for subject, handler in tables[domain].items():
            bus.subscribe(domain, subject, handler, batches.get(domain, {}).get(subject))
