"""All tables on the one MetaData (imported for migrations and schema checks)."""

from openticket.core.auth import tables as auth_tables
from openticket.core.expiration import tables as expiration_tables
from openticket.core.notify import tables as notify_tables
from openticket.core.notify.webhooks import tables as webhook_tables
from openticket.core.orders import tables as orders_tables
from openticket.core.orders.waitlist import tables as waitlist_tables
from openticket.core.payments import tables as payments_tables
from openticket.core.tickets import tables as tickets_tables
from openticket.core.tickets.holding import tables as holding_tables
from openticket.store import idempotency, outbox, scheduler_jobs, throttle
from openticket.store.db import metadata

__all__ = [
    "auth_tables",
    "expiration_tables",
    "holding_tables",
    "idempotency",
    "metadata",
    "notify_tables",
    "orders_tables",
    "outbox",
    "payments_tables",
    "scheduler_jobs",
    "throttle",
    "tickets_tables",
    "waitlist_tables",
    "webhook_tables",
]
