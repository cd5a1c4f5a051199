"""Paying sellers: a payout per sold order, held until the ticket proves good."""
