"""The signed-in user per marketplace, kept in OPENTICKET_HOME with mode 0600.

Keyed by target (the database, or later a server), so one home can hold a session for each.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

FILE_NAME = "credentials.json"


def target_key(db_url: str | None = None, server: str | None = None) -> str:
    if server:
        return "server:" + server.rstrip("/")
    assert db_url is not None
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(Path(url.database).expanduser().resolve()))
    return "db:" + url.render_as_string(hide_password=True)


class CredentialStore:
    def __init__(self, home: Path) -> None:
        self._path = home / FILE_NAME

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        home = self._path.parent
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=home, prefix=".credentials.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        os.chmod(self._path, 0o600)

    def token(self, key: str) -> str | None:
        entry = self._read().get(key)
        return entry.get("token") if isinstance(entry, dict) else None

    def save(self, key: str, token: str, user: dict[str, Any]) -> None:
        data = self._read()
        data[key] = {"token": token, "user": user}
        self._write(data)

    def forget(self, key: str) -> None:
        data = self._read()
        if data.pop(key, None) is not None:
            self._write(data)
