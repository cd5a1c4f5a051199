"""Tickets people hold: who holds each sold ticket, its signed code, check-in, resale, gifts."""
