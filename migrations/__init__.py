"""Alembic migrations, shipped as openticket.migrations."""
