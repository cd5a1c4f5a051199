"""How the command line is used: common options before or after the command, usage errors
for scripts, help a person can read, and shell completion for the shell one names."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import User, signed_up


def test_common_options_go_before_or_after_the_command(
    people: Callable[..., User], tmp_path: Path
) -> None:
    seller = people("seller")
    signed_up(seller, "seller@example.com")
    seller.ok("tickets", "create", "--title", "Opera", "--price", "10")
    before = seller.run("--json", "tickets", "list")
    after = seller.run("tickets", "list", "--json")
    assert before.code == after.code == 0
    assert [t["title"] for t in before.json()] == ["Opera"] == [t["title"] for t in after.json()]

    # --db given before the command wins over the environment's OPENTICKET_DB, as after it
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert seller.run("--db", other, "--json", "tickets", "list").json() == []
    assert seller.run("tickets", "list", "--db", other, "--json").json() == []


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["tickets", "list", "--bogus"], "bogus"),
        (["--json", "tickets", "list", "--limit", "many"], "limit"),
        (["orders", "show"], "order_id"),
        (["tickets", "lsit"], None),
        (["--json", "tickets"], None),
    ],
)
def test_usage_errors_under_json_are_the_errors_shape(
    people: Callable[..., User], args: list[str], field: str | None
) -> None:
    person = people("someone")
    result = person.run(*args, *([] if "--json" in args else ["--json"]))
    assert result.code == 2 and result.stdout == ""
    [error] = result.error_json()["errors"]
    assert error["field"] == field and error["message"]
    assert "\n" not in error["message"]  # one line, not a help page
    plain = person.run(*[arg for arg in args if arg != "--json"])
    assert plain.code == 2 and "Usage:" in plain.stderr  # people get the usual help


def test_help_is_plain_to_read(people: Callable[..., User]) -> None:
    person = people("someone")
    shown = person.run("orders", "show", "--help").stdout
    assert "Usage: openticket orders show [OPTIONS] ORDER_ID" in shown
    assert "<bool>" not in shown and "{" not in shown
    assert _options(person, "serve") >= {"--db", "--port"}
    assert not _options(person, "serve") & {"--server", "--json"}
    assert _options(person, "tui") & {"--server", "--json"} == {"--server"}
    assert "--json" in person.run("--help").stdout  # before any command too
    groups = (
        ["tickets"],
        ["orders"],
        ["auth"],
        ["payments"],
        ["events"],
        ["db"],
        ["wallet"],
        ["watch"],
        ["payouts"],
    )
    for group in ([], *groups, ["checkin"], ["checkin", "staff"]):
        listed = person.run(*group, "--help", env={"COLUMNS": "80"}).stdout
        commands = listed.split("Commands:")[1].splitlines()
        assert commands and not [line for line in commands if line.endswith("...")], group


def _options(person: User, command: str) -> set[str]:
    """The options a command's help lists (the first word of each row of its options)."""
    shown = person.run(command, "--help").stdout
    rows = [line.split() for line in shown.splitlines() if line.startswith("  --")]
    return {row[0].rstrip(",") for row in rows if row}


def test_completion_for_the_shell_named(people: Callable[..., User], tmp_path: Path) -> None:
    person = people("someone")
    home = tmp_path / "shell-home"
    home.mkdir()
    done = person.run("--install-completion", "zsh", env={"HOME": str(home), "SHELL": "/bin/bash"})
    assert done.code == 0 and "zsh completion installed" in done.stdout
    assert "_OPENTICKET_COMPLETE" in (home / ".zfunc" / "_openticket").read_text()
    assert "fpath" in (home / ".zshrc").read_text()
    assert not (home / ".bashrc").exists()

    refused = person.run("--install-completion", "fish2", env={"HOME": str(home)})
    assert refused.code == 2 and "fish2" in refused.stderr
    assert person.run("--show-completion", "fish").stdout.startswith("complete --command")

    asked = person.run(
        env={
            "_OPENTICKET_COMPLETE": "complete_bash",
            "COMP_WORDS": "openticket tic",
            "COMP_CWORD": "1",
        }
    )
    assert asked.stdout.split() == ["tickets"]


def test_export_explains_json(people: Callable[..., User]) -> None:
    seller = people("seller")
    signed_up(seller, "seller@example.com")
    seller.ok("tickets", "create", "--title", "Opera", "--price", "10")
    result = seller.run("tickets", "export", "--json")
    assert result.code == 0
    assert [json.loads(line)["title"] for line in result.stdout.splitlines()] == ["Opera"]


def test_piped_tables_are_whole_lines(people: Callable[..., User]) -> None:
    """Under a pipe, at any width, a table is a header and one line per row: nothing wraps,
    no id is split, and the pay hint is one line."""
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    long_title = "Orchestra seat " + "with a view of the stage " * 6
    ticket = seller.ok("tickets", "create", "--title", long_title, "--price", "15")
    narrow = {"COLUMNS": "40"}
    reserved = buyer.run("orders", "create", ticket["id"], env=narrow)
    assert reserved.code == 0
    [hint] = reserved.stderr.splitlines()
    assert hint.startswith("Pay by ") and hint.endswith(f": openticket pay {_id_in(reserved)}")
    for person, args in ((seller, ["tickets", "list", "--mine"]), (buyer, ["orders", "list"])):
        lines = person.run(*args, env=narrow).stdout.splitlines()
        assert len(lines) == 2 and lines[0].startswith("ID "), lines
        assert lines[1].split()[0] in (ticket["id"], _id_in(reserved))
        assert long_title.strip() in lines[1]
        assert all(line == line.rstrip() for line in lines)


def _id_in(result: Any) -> str:
    return str(result.stdout.split()[result.stdout.split().index("ID") + 1])


@pytest.mark.parametrize(
    "args",
    [
        ["tickets", "list", "--limit", "1000"],
        ["tickets", "export"],
        ["--json", "tickets", "export"],
    ],
)
def test_a_reader_that_stops_early_ends_the_command_quietly(
    people: Callable[..., User], tmp_path: Path, args: list[str]
) -> None:
    """`openticket tickets list | head`: the command stops as a Unix tool ended by SIGPIPE
    does (status 141), with no error or traceback about the pipe."""
    seller = people("seller")
    signed_up(seller, "seller@example.com")
    listings = tmp_path / "listings.csv"
    rows = "".join(f"A seat with a long enough title to fill pipes {n},10\n" for n in range(3000))
    listings.write_text("title,price\n" + rows)
    seller.ok("tickets", "import", str(listings))
    reading = seller.popen(*args)
    assert reading.stdout is not None and reading.stderr is not None
    first = reading.stdout.readline()
    assert first  # it had started writing: more than a pipe holds is still to come
    reading.stdout.close()  # the reader goes away, as `head` does
    assert reading.wait(timeout=120) == 141
    assert reading.stderr.read() == ""
