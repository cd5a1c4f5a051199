"""Orders: reservations that lock a ticket for a window, the source of truth for order status."""
