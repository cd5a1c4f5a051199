from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openticket.core.auth.model import normalize_email, validate_signup
from openticket.core.errors import Conflict, Forbidden, InvalidInput
from openticket.core.money import Money
from openticket.core.orders.model import Order
from openticket.core.tickets.model import Ticket, clean_title


def test_signup_validation_reports_every_problem() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_signup("nope", "short")
    assert [(i.field, i.message) for i in caught.value.items] == [
        ("email", "Email must be valid"),
        ("password", "Password must be at least 8 characters"),
    ]


@pytest.mark.parametrize("email", ["a@b.co", "First.Last+tag@Example.COM", " x@y.org "])
def test_valid_emails_are_normalized(email: str) -> None:
    assert validate_signup(email, "long enough") == normalize_email(email)
    assert normalize_email("A@B.CO") == "a@b.co"


@pytest.mark.parametrize(
    "email",
    ["", "plain", "a@b", "a b@c.com", "a@-b.com", "a@b..com", "x" * 250 + "@e.com", "a\x00@b.com"],
)
def test_invalid_emails(email: str) -> None:
    with pytest.raises(InvalidInput, match="Email must be valid"):
        validate_signup(email, "long enough")


@pytest.mark.parametrize(
    ("title", "fragment"),
    [
        ("", "required"),
        ("   ", "required"),
        ("a" * 201, "at most 200"),
        ("tab\there", "control"),
        ("bell\x07", "control"),
        ("rtl\u202eoverride", "control"),
    ],
)
def test_titles(title: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        clean_title(title)
    assert clean_title("  Jazz \u2013 night 🎷 ") == "Jazz \u2013 night 🎷"


def _ticket(status: str) -> Ticket:
    return Ticket("t", "T", Money(100, "USD"), "owner", 0, status, None)


def test_only_the_owner_edits_an_unreserved_ticket() -> None:
    _ticket("available").check_editable_by("owner")
    with pytest.raises(Forbidden):
        _ticket("available").check_editable_by("someone")
    with pytest.raises(Conflict, match="reserved"):
        _ticket("reserved").check_editable_by("owner")
    with pytest.raises(Conflict, match="sold"):
        _ticket("sold").check_editable_by("owner")


def test_every_change_bumps_the_version() -> None:
    ticket = _ticket("available")
    assert ticket.locked_by("o").version == 1
    assert ticket.locked_by("o").unlocked().version == 2
    assert ticket.edited("New", None).version == 1


def _order(status: str) -> Order:
    now = datetime.now(UTC)
    return Order("o", "u", "t", "T", Money(100, "USD"), status, now + timedelta(minutes=1), 0)


def test_paid_and_cancelled_orders_cannot_be_cancelled() -> None:
    assert _order("created").cancelled().status == "cancelled"
    with pytest.raises(Conflict, match="paid"):
        _order("complete").cancelled()
    with pytest.raises(Conflict, match="already"):
        _order("cancelled").cancelled()


def test_overdue_only_while_open() -> None:
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert _order("created").is_overdue(later)
    assert not _order("complete").is_overdue(later)
    assert not _order("created").is_overdue(datetime.now(UTC))
