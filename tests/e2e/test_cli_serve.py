"""`openticket serve` says where it listens only once it does, refuses a port it cannot use
in one line, and an upload the client abandons is one line in its log."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import OPENTICKET, PATIENCE_SECONDS, marketplace, signed_up


def _serve(tmp_path: Path, *args: str, **settings: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTICKET_")} | settings
    env.update(OPENTICKET_HOME=str(tmp_path / "home"), OPENTICKET_DB=f"sqlite:///{tmp_path}/s.db")
    return subprocess.Popen(
        [*OPENTICKET, "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path, port: str) -> None:
    server = _serve(tmp_path, "--port", port)
    _, stderr = server.communicate(timeout=PATIENCE_SECONDS)
    assert server.returncode == 2 and "--port" in stderr and "serving" not in stderr


def test_port_zero_serves_on_a_free_port_and_says_which(tmp_path: Path) -> None:
    server = _serve(tmp_path, "--port", "0")
    try:
        assert server.stderr is not None
        line = server.stderr.readline()  # blocks until serve writes it (it binds first)
        found = re.fullmatch(r"openticket serving on http://127\.0\.0\.1:(\d+)\n", line)
        assert found and int(found[1]) != 0, line
        with urllib.request.urlopen(f"http://127.0.0.1:{found[1]}/healthz", timeout=30) as answer:
            assert answer.status == 200
    finally:
        server.terminate()
        server.wait(timeout=PATIENCE_SECONDS)


def test_a_port_in_use_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = _serve(tmp_path, "--port", str(port))
        stdout, stderr = server.communicate(timeout=PATIENCE_SECONDS)
    assert server.returncode == 1
    assert (stdout, stderr) == ("", f"Error: Port {port} on 127.0.0.1 is in use\n")


def test_a_bad_setting_stops_serve_before_it_listens(tmp_path: Path) -> None:
    server = _serve(tmp_path, "--port", "0", OPENTICKET_CURRENCY="XYZ")
    stdout, stderr = server.communicate(timeout=PATIENCE_SECONDS)
    assert server.returncode == 1 and stdout == ""
    assert len(stderr.splitlines()) == 1 and stderr.startswith("Error: OPENTICKET_CURRENCY='XYZ'")


def test_an_abandoned_upload_is_one_quiet_line_in_the_log(tmp_path: Path) -> None:
    with marketplace("server", tmp_path) as people:
        seller = people("seller")
        signed_up(seller, "seller@example.com")
        source = tmp_path / "bad.csv"
        with source.open("wb") as handle:  # the reader stops at the last line, mid-upload
            handle.write(b"title,price\n" + b"".join(b"ok %d,1\n" % n for n in range(30_000)))
            handle.write(b"caf\xe9,2\n")
        result = seller.run("tickets", "import", str(source))
        assert result.code == 1 and "not UTF-8" in result.stderr
        assert seller.ok("tickets", "list") == []
    log = next((tmp_path).glob("serve-*.log")).read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log


def test_one_login_however_the_server_url_is_written(tmp_path: Path) -> None:
    with marketplace("server", tmp_path) as people:
        url = people("anyone").extra_env["OPENTICKET_SERVER"]
        port = url.rsplit(":", 1)[1]
        seller = people("seller", OPENTICKET_SERVER=f"http://localhost:{port}")
        signed_up(seller, "seller@example.com")
        for written in (f"http://127.0.0.1:{port}/", f"HTTP://LocalHost:{port}", url):
            assert seller.ok("auth", "whoami", "--server", written)["email"] == "seller@example.com"
