"""The layering of ARCHITECTURE.md and the size rules, enforced."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["conformance", "reference_impl", "regenkey"]
# What each layer may import from this project (spec <- conformance <- reference_impl;
# only the composition root, regenkey, sees both).
ALLOWED = {
    "conformance": {"conformance"},
    "reference_impl": {"conformance", "reference_impl"},
    "regenkey": {"conformance", "reference_impl", "regenkey"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_dependency_rule(package: str) -> None:
    ours = set(PACKAGES)
    for path in (ROOT / package).rglob("*.py"):
        bad = (_imports(path) & ours) - ALLOWED[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_spec_holds_no_python() -> None:
    assert not list((ROOT / "spec").rglob("*.py"))


def test_nothing_reads_the_spec_from_the_working_directory() -> None:
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert '"spec/' not in text and "'spec/" not in text, path


@pytest.mark.parametrize("package", [*PACKAGES, "tests"])
def test_module_sizes(package: str) -> None:
    limit = 800 if package == "tests" else 400
    for path in (ROOT / package).rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= limit, f"{path.relative_to(ROOT)} has {lines} lines"
        assert path.name != "utils.py"
