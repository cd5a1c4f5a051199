"""The signed-in user per marketplace, kept in OPENTICKET_HOME with mode 0600.

Keyed by target (the database, or later a server), so one home can hold a session for each.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

FILE_NAME = "credentials.json"


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443}


def target_key(db_url: str | None = None, server: str | None = None) -> str:
    """The marketplace a session belongs to: one key however its address is written."""
    if server:
        return "server:" + server_key(server)
    assert db_url is not None
    return "db:" + _database_key(db_url)


def server_key(url: str) -> str:
    """`url` normalized: scheme and host in lower case, no default port, no trailing slash,
    and any loopback name as `localhost` (`http://127.0.0.1:8000/` is `http://localhost:8000`)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host in LOOPBACK_NAMES or host.startswith("127."):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def _database_key(db_url: str) -> str:
    """A SQLite file by its absolute path; another database by its URL, password hidden."""
    scheme, sep, rest = db_url.partition("://")
    if not sep:
        return db_url
    if scheme.split("+")[0] == "sqlite":
        path, query_sep, query = rest.removeprefix("/").partition("?")
        if path and path != ":memory:":
            path = str(Path(path).expanduser().resolve())
        return f"{scheme}:///{path}{query_sep}{query}"
    parts = urlsplit(db_url)
    if parts.password is None:
        return db_url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit((parts.scheme, f"{user}:***@{hostinfo}", parts.path, parts.query, ""))


class PrivateJson:
    """A JSON object in a file only its owner can read (mode 0600, written whole)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, data: dict[str, Any]) -> None:
        home = self._path.parent
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=home, prefix=f".{self._path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        os.chmod(self._path, 0o600)


class CredentialStore:
    def __init__(self, home: Path) -> None:
        self._file = PrivateJson(home / FILE_NAME)

    def _read(self) -> dict[str, Any]:
        return self._file.read()

    def _write(self, data: dict[str, Any]) -> None:
        self._file.write(data)

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
