"""A wheel (`pip install .`, the README's first command) ships every package of the source
tree: setuptools is given an explicit list, and a package missing from it installs nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_the_tree_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    in_tree = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "openticket").rglob("__init__.py")
    }
    assert in_tree - listed == set()
