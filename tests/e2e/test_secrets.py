"""Secrets stay secret: the home and the database are private to their owner, the token signing
keys live outside the marketplace's tables, keys rotate without signing anyone out (unless the
operator says so), and a user can sign out everywhere."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from openticket.bootstrap import Overrides, bootstrap
from openticket.config import Settings
from openticket.core.signing_keys import key_id
from tests.conftest import OPENTICKET, User, running_server, signed_up


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _key_file(person: User) -> Path:
    return person.db_path.with_name(person.db_path.name + ".keys")


def test_a_new_home_and_database_are_private(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    person = User(home=home, db_path=home / "openticket.db")
    env = person.env()
    env.pop("OPENTICKET_DB")  # the default database, inside the home
    done = subprocess.run(
        [*OPENTICKET, "auth", "signup", "new@example.com", "--password", "long enough"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _mode(home) == 0o700
    for path in (home / "openticket.db", _key_file(person), home / "credentials.json"):
        assert _mode(path) == 0o600, path


def test_wal_files_are_private_while_the_database_is_open(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", db_url=f"sqlite:///{tmp_path / 'db' / 'm.db'}")
    api = bootstrap(settings, Overrides())
    try:
        api.signup("wal@example.com", "long enough")
        for suffix in ("", "-wal", "-shm"):
            assert _mode(tmp_path / "db" / f"m.db{suffix}") == 0o600, suffix
        assert _mode(tmp_path / "db") == 0o700
    finally:
        api.close()


def test_the_signing_key_is_not_in_the_database(people: Callable[..., User]) -> None:
    person = people("someone")
    signed_up(person, "someone@example.com")
    [key] = json.loads(_key_file(person).read_text())["keys"]
    with sqlite3.connect(person.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM auth_signing_keys").fetchone() == (0,)
    for path in person.db_path.parent.glob(person.db_path.name + "*"):
        if path != _key_file(person):
            assert key["secret"].encode() not in path.read_bytes(), path


def test_a_key_an_earlier_version_kept_in_the_database_moves_to_the_key_file(
    people: Callable[..., User],
) -> None:
    person = people("veteran")
    user = signed_up(person, "veteran@example.com")
    _key_file(person).unlink()  # as an earlier version left it: the secret in a table
    legacy = "an-earlier-secret-kept-in-the-database-table"
    with sqlite3.connect(person.db_path) as conn:
        conn.execute(
            "INSERT INTO auth_signing_keys (secret, created_at) VALUES (?, ?)",
            (legacy, "2026-11-01 00:00:00.000000"),
        )
    now = datetime.now(UTC)
    old_token = jwt.encode(  # no "kid": earlier tokens named no key
        {"sub": user["id"], "jti": "0" * 32, "exp": int((now + timedelta(days=1)).timestamp())},
        legacy,
        algorithm="HS256",
    )
    _use_token(person, old_token)
    assert person.ok("auth", "whoami") == user
    with sqlite3.connect(person.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM auth_signing_keys").fetchone() == (0,)
    kept = json.loads(_key_file(person).read_text())["keys"]
    assert [k["secret"] for k in kept] == [legacy] and _mode(_key_file(person)) == 0o600


def _use_token(person: User, token: str) -> None:
    credentials = person.home / "credentials.json"
    data = json.loads(credentials.read_text())
    [entry] = data.values()
    entry["token"] = token
    credentials.write_text(json.dumps(data))


def _token(person: User) -> str:
    [entry] = json.loads((person.home / "credentials.json").read_text()).values()
    return str(entry["token"])


def test_rotating_the_key_keeps_tokens_until_revoke_all(people: Callable[..., User]) -> None:
    alice, operator = people("alice"), people("operator")
    signed_up(alice, "alice@example.com")
    first_token = _token(alice)
    rotation = operator.ok("auth", "rotate-key")
    assert rotation["revoked_all"] is False
    assert alice.ok("auth", "whoami")["email"] == "alice@example.com"  # still signed in
    alice.ok("auth", "signin", "alice@example.com", "--password", "correct horse")
    assert jwt.get_unverified_header(_token(alice))["kid"] == rotation["kid"]
    keys = json.loads(_key_file(alice).read_text())["keys"]
    assert keys[0]["kid"] == rotation["kid"] and len(keys) == 2

    revoked = operator.ok("auth", "rotate-key", "--revoke-all")
    assert revoked["revoked_all"] is True
    assert alice.run("auth", "whoami").code == 3
    _use_token(alice, first_token)
    assert alice.run("auth", "whoami").code == 3
    alice.ok("auth", "signin", "alice@example.com", "--password", "correct horse")
    assert alice.ok("auth", "whoami")["email"] == "alice@example.com"


def test_rotate_key_is_for_the_local_database_only(tmp_path: Path) -> None:
    (tmp_path / "server-home").mkdir()
    with running_server(tmp_path / "db.sqlite", tmp_path / "server-home") as url:
        person = User(tmp_path / "op", tmp_path / "db.sqlite", {"OPENTICKET_SERVER": url})
        result = person.run("auth", "rotate-key", "--json")
    assert result.code == 1
    assert "local database" in result.error_json()["errors"][0]["message"]


@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_sign_out_everywhere(mode: str, tmp_path: Path) -> None:
    from tests.conftest import marketplace

    with marketplace(mode, tmp_path) as people:
        laptop, phone = people("laptop"), people("phone")
        signed_up(laptop, "owner@example.com")
        phone.ok("auth", "signin", "owner@example.com", "--password", "correct horse")
        other = people("other")
        signed_up(other, "other@example.com")
        assert laptop.ok("auth", "signout", "--all") == {}
        assert phone.run("auth", "whoami").code == 3
        assert other.ok("auth", "whoami")["email"] == "other@example.com"  # only theirs
        phone.ok("auth", "signin", "owner@example.com", "--password", "correct horse")
        assert phone.ok("auth", "whoami")["email"] == "owner@example.com"


def test_environment_keys_sign_and_cannot_be_rotated_here(people: Callable[..., User]) -> None:
    old, new = "o" * 40, "n" * 40
    before = people("before", OPENTICKET_SECRET_KEY=old)
    signed_up(before, "env@example.com")
    assert jwt.get_unverified_header(_token(before))["kid"] == key_id(old)
    assert not _key_file(before).exists()
    after = people("before", OPENTICKET_SECRET_KEY=f"{new},{old}")  # same home, new key first
    assert after.ok("auth", "whoami")["email"] == "env@example.com"
    refused = after.run("auth", "rotate-key", "--json")
    assert refused.code == 1
    assert refused.error_json()["errors"][0]["field"] == "OPENTICKET_SECRET_KEY"
    without_old = people("before", OPENTICKET_SECRET_KEY=new)
    assert without_old.run("auth", "whoami").code == 3
    assert people("x", OPENTICKET_SECRET_KEY="short").run("tickets", "list").code == 1


def test_serve_warns_about_a_database_others_can_read(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    User(tmp_path / "a", db).ok("tickets", "list")  # creates the database, 0600
    os.chmod(db, 0o644)
    (tmp_path / "server-home").mkdir()
    with running_server(db, tmp_path / "server-home") as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
    log = next(tmp_path.glob("serve-*.log")).read_text()
    assert f"Warning: {db} can be read by other users" in log


def test_tokens_with_malformed_claims_are_refused_not_a_500(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    owner = User(tmp_path / "a", db)
    user = signed_up(owner, "owner@example.com")
    [key] = json.loads(_key_file(owner).read_text())["keys"]
    far = int((datetime.now(UTC) + timedelta(days=1)).timestamp())
    bad_claims = [
        {"sub": user["id"], "jti": "1" * 32, "exp": "tomorrow"},
        {"sub": user["id"], "jti": "1" * 32, "exp": 10**30},
        {"sub": user["id"], "jti": "1" * 32, "exp": 1.5e300},
        {"sub": user["id"], "jti": "1" * 32, "exp": far, "ep": "x"},
        {"sub": ["a"], "jti": "1" * 32, "exp": far},
        {"sub": user["id"], "jti": "1" * 300, "exp": far},
    ]
    (tmp_path / "server-home").mkdir()
    with running_server(db, tmp_path / "server-home") as url:
        for claims in bad_claims:
            token = jwt.encode(
                claims, key["secret"], algorithm="HS256", headers={"kid": key["kid"]}
            )
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{url}/api/orders", headers=headers).status_code == 401, claims
            current = httpx.get(f"{url}/api/users/currentuser", headers=headers)
            assert current.json() == {"current_user": None}, claims
