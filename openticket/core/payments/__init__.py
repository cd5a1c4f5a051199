"""Payments: charges through a provider, one successful charge per order, refunds."""
