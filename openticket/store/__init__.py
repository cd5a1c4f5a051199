"""Persistence: engine per URL, the one MetaData, the unit of work, the outbox and inbox."""
