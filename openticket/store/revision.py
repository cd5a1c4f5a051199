"""The schema revision this code reads and writes (the newest of migrations/versions), apart
from the migration machinery so that reading it costs nothing."""

HEAD_REVISION = "0015"
