"""Expiration: remembers when each open order's window ends and announces it."""
