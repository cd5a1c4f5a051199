"""Watches (saved searches) and each user's notifications: the notify domain."""
