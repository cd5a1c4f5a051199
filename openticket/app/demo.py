"""Sample data for a first look: three users and a dozen listings in several currencies."""

from __future__ import annotations

from openticket.app import schemas
from openticket.app.api import Api

DEMO_PASSWORD = "openticket-demo"
DEMO_USERS = ("alice@example.com", "bob@example.com", "carol@example.com")
DEMO_TICKETS = (
    ("Jazz night at the Blue Room", "35.00", "USD"),
    ("Indie rock festival, Saturday pass", "89.50", "USD"),
    ("Symphony No. 9, balcony", "42.00", "EUR"),
    ("Stand-up comedy, front row", "25.00", "GBP"),
    ("Kabuki matinee", "4500", "JPY"),
    ("City marathon spectator stand", "12.00", "USD"),
    ("Opera: La Traviata", "120.00", "EUR"),
    ("Football derby, north stand", "65.00", "GBP"),
    ("Tokyo jazz club, late set", "3000", "JPY"),
    ("Film festival closing night", "18.75", "USD"),
    ("Chamber music in the park", "0.50", "USD"),
    ("Electronic music all-nighter", "55.00", "EUR"),
)


def fill(api: Api) -> schemas.DemoReport:
    """Sign the demo users up and list the demo tickets (the caller checked the store is empty)."""
    sessions = [api.signup(email, DEMO_PASSWORD) for email in DEMO_USERS]
    for index, (title, price, currency) in enumerate(DEMO_TICKETS):
        seller = sessions[index % len(sessions)]
        api.create_ticket(seller.token, title, price, currency)
    return schemas.DemoReport(
        users=[session.user for session in sessions],
        password=DEMO_PASSWORD,
        tickets=len(DEMO_TICKETS),
    )
