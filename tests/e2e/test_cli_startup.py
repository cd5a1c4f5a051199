"""Start-up stays light, every command documents itself, credentials are private and signing
out revokes the token itself."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import User, marketplace, signed_up

HEAVY = (
    "sqlalchemy",
    "alembic",
    "apscheduler",
    "pydantic",
    "passlib",
    "argon2",
    "jwt",
    "textual",
    "fastapi",
    "nats",
    "httpx",
)


def test_importing_the_cli_loads_nothing_heavy() -> None:
    probe = (
        "import sys, json; import openticket.cli.main; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", probe], text=True))
    assert not set(HEAVY) & set(loaded)


def test_help_loads_nothing_heavy(people: Callable[..., User]) -> None:
    probe = (
        "import sys, json\n"
        "from openticket.cli.main import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.check_output([sys.executable, "-c", probe], text=True)
    loaded = json.loads(out.strip().splitlines()[-1])
    assert not set(HEAVY) & set(loaded)


COMMANDS = [
    [],
    ["auth"],
    ["auth", "signup"],
    ["auth", "signin"],
    ["auth", "signout"],
    ["auth", "whoami"],
    ["tickets"],
    ["tickets", "list"],
    ["tickets", "show"],
    ["tickets", "create"],
    ["tickets", "update"],
    ["orders"],
    ["orders", "list"],
    ["orders", "create"],
    ["orders", "show"],
    ["orders", "cancel"],
    ["pay"],
    ["payments", "reconcile"],
    ["events", "tail"],
    ["db", "upgrade"],
    ["demo"],
    ["tui"],
    ["serve"],
    ["tickets", "import"],
    ["tickets", "export"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "root")
def test_every_command_has_help(people: Callable[..., User], args: list[str]) -> None:
    result = people("reader").run(*args, "--help")
    assert result.code == 0
    assert "Usage: openticket" in result.stdout
    if (args and args[0] not in ("auth", "tickets", "orders", "payments", "events", "db")) or len(
        args
    ) > 1:
        assert "--db" in result.stdout
        # serve and tui print no data: they offer no --json (test_cli_usage.py)
        assert ("--json" in result.stdout) == (args[0] not in ("serve", "tui"))


def test_credentials_file_is_private(people: Callable[..., User]) -> None:
    person = people("private")
    signed_up(person, "private@example.com")
    credentials = person.home / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert "correct horse" not in credentials.read_text()


def test_signout_revokes_the_token(people: Callable[..., User]) -> None:
    person = people("leaver")
    signed_up(person, "leaver@example.com")
    credentials = person.home / "credentials.json"
    kept = credentials.read_text()
    assert person.ok("auth", "signout") == {}
    assert person.run("auth", "whoami").code == 3
    credentials.write_text(kept)  # someone kept a copy of the token
    stolen = person.run("auth", "whoami", "--json")
    assert stolen.code == 3
    assert stolen.error_json()["errors"][0]["message"].startswith("Not signed in")


def test_two_homes_on_one_database_are_two_users(people: Callable[..., User]) -> None:
    first, second = people("first"), people("second")
    a = signed_up(first, "first@example.com")
    b = signed_up(second, "second@example.com")
    assert first.ok("auth", "whoami") == a
    assert second.ok("auth", "whoami") == b
    assert a["id"] != b["id"]


def test_signin_after_signout(people: Callable[..., User]) -> None:
    person = people("again")
    user = signed_up(person, "again@example.com", "a long password")
    person.ok("auth", "signout")
    assert person.ok("auth", "signin", "AGAIN@example.com", "--password", "a long password") == user


def test_bad_order_ttl_is_a_clear_error_where_it_is_used(people: Callable[..., User]) -> None:
    seller = people("seller")
    signed_up(seller, "seller@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Seat", "--price", "12")
    person = people("ttl", OPENTICKET_ORDER_TTL="soon")
    signed_up(person, "ttl@example.com")
    assert person.run("tickets", "list").code == 0  # it reserves nothing
    result = person.run("orders", "create", ticket["id"])
    assert result.code == 1
    assert result.stderr.splitlines() == [
        "Error: OPENTICKET_ORDER_TTL='soon' must be a whole number of seconds from 1 to 604800"
    ]
    assert seller.ok("tickets", "show", ticket["id"])["status"] == "available"


def test_an_unsupported_database_is_a_clear_error(people: Callable[..., User]) -> None:
    person = people("mysql", OPENTICKET_DB="mysql://root@127.0.0.1/test")
    result = person.run("tickets", "list")
    assert result.code == 1
    assert result.stderr.startswith("Error: Unsupported database 'mysql'")
    not_a_url = person.run("tickets", "list", "--db", "my database")
    assert not_a_url.code == 1
    assert not_a_url.stderr.startswith("Error: The database must be a URL")


def _modules_loaded_by(argv: list[str], env: dict[str, str], out: Path) -> set[str]:
    """The top-level packages a CLI invocation imported, start to exit."""
    probe = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps("
        "sorted({m.split('.')[0] for m in sys.modules}))))\n"
        f"sys.argv = ['openticket', *{argv!r}]\n"
        "from openticket.cli.main import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def test_commands_through_a_server_never_load_the_store(tmp_path: Path) -> None:
    with marketplace("server", tmp_path) as people:
        person = people("client")
        signed_up(person, "client@example.com")
        for argv in (["tickets", "list"], ["--json", "orders", "list"], ["auth", "whoami"]):
            loaded = _modules_loaded_by(argv, person.env(), tmp_path / "modules.json")
            assert not {"sqlalchemy", "alembic", "apscheduler", "fastapi"} & loaded, argv


def test_listing_tickets_on_the_embedded_store_loads_nothing_heavy(
    people: Callable[..., User], tmp_path: Path
) -> None:
    seller = people("seller")
    signed_up(seller, "seller@example.com")
    seller.ok("tickets", "create", "--title", "Opera", "--price", "10")
    for argv in (["tickets", "list"], ["--json", "tickets", "list", "--sort", "price"]):
        loaded = _modules_loaded_by(argv, seller.env(), tmp_path / "modules.json")
        assert not set(HEAVY) & loaded, (argv, set(HEAVY) & loaded)
