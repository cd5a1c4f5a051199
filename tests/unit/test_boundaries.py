"""The import boundaries of DESIGN.md, checked on the source: domains are independent of each
other, domain rules import only the standard library, and the CLI stays off the store and bus."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "openticket"
DOMAINS = ("auth", "tickets", "orders", "payments", "expiration")
LIGHT_CORE = ("money.py", "events.py", "errors.py", "clock.py", "text.py")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("domain", DOMAINS)
def test_domains_do_not_import_each_other(domain: str) -> None:
    others = [d for d in DOMAINS if d != domain]
    for module in (PACKAGE / "core" / domain).glob("*.py"):
        for name in _imports(module):
            assert not any(name.startswith(f"openticket.core.{o}") for o in others), (
                f"{module.relative_to(PACKAGE)} imports {name}"
            )


@pytest.mark.parametrize(
    "module",
    [PACKAGE / "core" / d / "model.py" for d in DOMAINS]
    + [PACKAGE / "core" / m for m in LIGHT_CORE],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_rules_import_only_the_standard_library(module: Path) -> None:
    for name in _imports(module):
        top = name.split(".")[0]
        assert (
            top == "__future__"
            or name.startswith("openticket.core.")
            or top
            in {
                "dataclasses",
                "datetime",
                "functools",
                "decimal",
                "re",
                "typing",
                "unicodedata",
                "uuid",
                "collections",
            }
        ), f"{module.relative_to(PACKAGE)} imports {name}"


def test_cli_does_not_import_store_or_bus() -> None:
    for module in (PACKAGE / "cli").glob("*.py"):
        for name in _imports(module):
            assert not name.startswith(("openticket.store", "openticket.bus")) or (
                module.name == "db.py" and name.startswith("openticket.store")
            ), f"{module.name} imports {name}"
