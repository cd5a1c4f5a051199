"""Notify use cases: a user's watches (add, list, remove) and their notifications."""

from __future__ import annotations

from openticket.core.errors import Conflict, InvalidInput, NotFound
from openticket.core.ids import is_id, new_id
from openticket.core.notify import repository
from openticket.core.notify.model import (
    NOTIFICATIONS_LIMIT_MAX,
    WATCHES_PER_USER,
    Notification,
    Watch,
    check_search,
    watch_terms,
)
from openticket.core.ports import Transaction


def add_watch(
    tx: Transaction,
    user_id: str,
    search: str | None,
    max_price: str | None,
    currency: str | None,
    default_currency: str,
) -> Watch:
    text = check_search(search)
    limit, code = watch_terms(max_price, currency, default_currency)
    repository.lock_user(tx, user_id)
    if repository.count_watches(tx, user_id) >= WATCHES_PER_USER:
        raise Conflict(f"You have {WATCHES_PER_USER} watches already: remove one first")
    watch = Watch(new_id(), user_id, text, limit, code, tx.now)
    repository.add_watch(tx, watch)
    return watch


def watches_of(tx: Transaction, user_id: str) -> list[Watch]:
    return repository.watches_of(tx, user_id)


def remove_watch(tx: Transaction, user_id: str, watch_id: str) -> None:
    """Another user's watch is not found either: whether it exists is theirs."""
    if not is_id(watch_id) or not repository.remove_watch(tx, user_id, watch_id):
        raise NotFound("No watch of yours with this id", "id")


def notifications_of(tx: Transaction, user_id: str, after: int, limit: int) -> list[Notification]:
    if after < 0:
        raise InvalidInput("after must be a notification number, 0 or more", "after")
    if not 1 <= limit <= NOTIFICATIONS_LIMIT_MAX:
        raise InvalidInput(f"limit must be from 1 to {NOTIFICATIONS_LIMIT_MAX}", "limit")
    return repository.stream(tx, user_id, after, limit)


def unread(tx: Transaction, user_id: str) -> int:
    return repository.count_after(tx, user_id, repository.seen(tx, user_id))


def mark_read(tx: Transaction, user_id: str, upto: int) -> int:
    """The user has read their news up to `upto` (never back: a stale screen marking less
    changes nothing); how many are unread after it."""
    if upto < 0:
        raise InvalidInput("upto must be a notification number, 0 or more", "upto")
    latest = repository.latest_seq(tx, user_id)
    before = repository.seen(tx, user_id)
    if min(upto, latest) > before:
        repository.save_seen(tx, user_id, min(upto, latest))
    return unread(tx, user_id)
