"""The layers of ARCHITECTURE.md, checked on the source. Imports point down only:
entry points (cli, tui, server) -> the application (app) -> the domains (core/<domain>) ->
core's shared kernel; adapters (store, bus, providers, scheduler) implement the ports of core
and app and are wired in bootstrap.py alone. Domains are independent of each other, a
domain's rules import only the standard library, a slice's SQL stays in its tables.py and
repository.py, and no module of the package takes part in an import cycle."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "openticket"
DOMAINS = ("auth", "tickets", "orders", "payments", "expiration")
LIGHT_CORE = ("money.py", "events.py", "errors.py", "clock.py", "text.py", "ids.py", "versions.py")
ENTRY_POINTS = ("cli", "tui", "server")
FRAMEWORKS = (
    "fastapi",
    "starlette",
    "uvicorn",
    "typer",
    "click",
    "textual",
    "rich",
    "apscheduler",
    "nats",
    "stripe",
    "httpx",
)
ADAPTERS = ("openticket.store", "openticket.bus", "openticket.providers", "openticket.scheduler")
MAX_MODULE_LINES = 350


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at its top, inside functions or for type checking;
    `from package import module` counts as importing the module too."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: Path) -> Iterator[Path]:
    yield from sorted(folder.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("domain", DOMAINS)
def test_domains_do_not_import_each_other(domain: str) -> None:
    others = tuple(f"openticket.core.{d}" for d in DOMAINS if d != domain)
    for module in (PACKAGE / "core" / domain).glob("*.py"):
        for name in _imports(module):
            assert not _starts(name, others), f"{_id(module)} imports {name}"


@pytest.mark.parametrize(
    "module",
    [PACKAGE / "core" / d / "model.py" for d in DOMAINS]
    + [PACKAGE / "core" / m for m in LIGHT_CORE],
    ids=_id,
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
                "time",
                "os",
            }
        ), f"{_id(module)} imports {name}"


@pytest.mark.parametrize("module", list(_modules(PACKAGE / "core")), ids=_id)
def test_core_imports_nothing_above_it_and_no_framework(module: Path) -> None:
    above = ("openticket.app", "openticket.bootstrap", "openticket.client", "openticket.config")
    above += tuple(f"openticket.{e}" for e in ENTRY_POINTS) + ADAPTERS[1:]
    for name in _imports(module):
        assert not _starts(name, above + FRAMEWORKS), f"{_id(module)} imports {name}"


@pytest.mark.parametrize("module", list(_modules(PACKAGE / "core")), ids=_id)
def test_only_a_slice_s_tables_and_repository_touch_sql(module: Path) -> None:
    if module.name in ("tables.py", "repository.py"):
        return
    for name in _imports(module):
        assert not _starts(name, ("sqlalchemy", "openticket.store")), (
            f"{_id(module)} imports {name}: SQL belongs in its slice's repository"
        )


@pytest.mark.parametrize("module", list(_modules(PACKAGE / "app")), ids=_id)
def test_the_application_sees_adapters_only_through_ports(module: Path) -> None:
    forbidden = (*ADAPTERS, "openticket.bootstrap", "openticket.client", "openticket.config")
    forbidden += (*tuple(f"openticket.{e}" for e in ENTRY_POINTS), "sqlalchemy", *FRAMEWORKS)
    for name in _imports(module):
        assert not _starts(name, forbidden), f"{_id(module)} imports {name}"


@pytest.mark.parametrize(
    "module",
    [m for e in ENTRY_POINTS for m in _modules(PACKAGE / e)] + list(_modules(PACKAGE / "client")),
    ids=_id,
)
def test_entry_points_reach_the_core_through_the_application(module: Path) -> None:
    """They may use the shared kernel and a domain's values (errors, an ImportRow), never a
    use case, a repository or an adapter: those are the application's and bootstrap's."""
    slices = tuple(
        f"openticket.core.{d}.{part}"
        for d in DOMAINS
        for part in ("service", "handlers", "repository", "tables", "charging", "reconciling")
    )
    for name in _imports(module):
        assert not _starts(name, (*ADAPTERS, "sqlalchemy", *slices)), (
            f"{_id(module)} imports {name}"
        )


def test_entry_points_do_not_import_each_other_but_the_cli_starts_them() -> None:
    for entry in ENTRY_POINTS:
        others = tuple(f"openticket.{e}" for e in ENTRY_POINTS if e != entry)
        for module in _modules(PACKAGE / entry):
            for name in _imports(module):
                allowed = entry == "cli" and module.name in ("serve.py", "tui.py")
                assert allowed or not _starts(name, others), f"{_id(module)} imports {name}"


def test_no_module_takes_part_in_an_import_cycle() -> None:
    modules = {_name(path): path for path in _modules(PACKAGE)}
    graph = {
        name: {imported for imported in _imports(path) if imported in modules and imported != name}
        for name, path in modules.items()
    }
    cycles = [component for component in _strongly_connected(graph) if len(component) > 1]
    assert cycles == [], f"import cycles: {cycles}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative over the package's modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(graph) == [["a", "b", "c"], ["d"]]


@pytest.mark.parametrize("module", list(_modules(PACKAGE)), ids=_id)
def test_no_module_is_over_the_size_a_reader_takes_in(module: Path) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_id(module)} has {lines} lines"


def test_cli_does_not_import_store_or_bus() -> None:
    for module in (PACKAGE / "cli").glob("*.py"):
        for name in _imports(module):
            assert not name.startswith(("openticket.store", "openticket.bus")), (
                f"{module.name} imports {name}"
            )


def _bare_names(path: Path, wanted: Callable[[str], bool]) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and wanted(node.module):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", list(_modules(PACKAGE)), ids=_id)
def test_an_api_schema_and_a_domain_model_of_one_name_never_meet_unqualified(
    module: Path,
) -> None:
    """`schemas.Ticket` (what the Api answers) and `model.Ticket` (the domain's) share a name
    on purpose (the schema names are the OpenAPI document's); a module that needs both says
    which is which."""
    from_schemas = _bare_names(module, lambda name: name == "openticket.app.schemas")
    from_models = _bare_names(module, lambda name: name.endswith(".model"))
    assert not from_schemas & from_models, f"{_id(module)} imports {from_schemas & from_models}"
