"""Tickets: listings, the source of truth for title, price and availability."""
