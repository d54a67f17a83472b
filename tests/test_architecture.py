"""The layering of ARCHITECTURE.md and the size rules, enforced.

Between packages: spec <- conformance <- reference_impl, and only the
composition root (regenkey) sees both. Inside the kit, layers lowest first::

    errors, spec -> protocol -> transport -> validation -> judging
        -> {server, client} -> vectors -> reporting -> testing

nothing imports a higher layer (nor a sibling: server and client do not import
each other), and regenkey/ and reference_impl/ import only the public API
(``conformance``) and the entry modules it names (``conformance.ENTRY_MODULES``).
Every import counts, also one inside a function or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import conformance

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["conformance", "reference_impl", "regenkey"]
# What each package may import from this project (spec <- conformance <- reference_impl;
# only the composition root, regenkey, sees both).
ALLOWED = {
    "conformance": {"conformance"},
    "reference_impl": {"conformance", "reference_impl"},
    "regenkey": {"conformance", "reference_impl", "regenkey"},
}
# The layers inside the kit, lowest first; a module may import its own layer and
# the ones below it. Layers of one rank (server, client) do not import each other.
LAYERS = {
    "errors": 0,
    "spec": 1,
    "protocol": 2,
    "transport": 3,
    "validation": 4,
    "judging": 5,
    "server": 6,
    "client": 6,
    "vectors": 7,
    "reporting": 8,
    "testing": 9,
}
# Imports that break the layer rule today, each to be removed by moving code
# (not by adding it here). An entry that no longer occurs fails the test too,
# so the list only shrinks.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def _is_module(dotted: str) -> bool:
    path = ROOT / dotted.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted module) for every absolute import in ``path``; ``from pkg
    import mod`` yields ``pkg.mod`` when ``mod`` is a module of this project."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            subs = [m for m in subs if _is_module(m)]
            yield from ((node.lineno, m) for m in subs or [node.module])


def _imports(path: Path) -> set[str]:
    return {module.split(".")[0] for _, module in _imported_modules(path)}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("package", PACKAGES)
def test_dependency_rule(package: str) -> None:
    ours = set(PACKAGES)
    for path in (ROOT / package).rglob("*.py"):
        bad = (_imports(path) & ours) - ALLOWED[package]
        assert not bad, f"{_rel(path)} imports {sorted(bad)}"


def _layer(module: str) -> str | None:
    """``conformance.server.checks.http`` -> ``server``; None for the public API."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "conformance" else None


def _layer_violations() -> set[tuple[str, str, int, str, str]]:
    """(file, imported module, line, importer's layer, imported layer)."""
    found = set()
    for path in sorted((ROOT / "conformance").rglob("*.py")):
        parts = path.relative_to(ROOT / "conformance").with_suffix("").parts
        mine = parts[0] if len(parts) > 1 else parts[0].removesuffix("__init__") or None
        if mine is None:  # conformance/__init__.py: the public API over every layer
            continue
        for line, module in _imported_modules(path):
            theirs = _layer(module)
            if theirs is None or theirs == mine or theirs not in LAYERS:
                continue
            if LAYERS[theirs] >= LAYERS[mine]:
                found.add((_rel(path), module, line, mine, theirs))
    return found


def test_every_module_of_the_kit_sits_in_a_layer() -> None:
    outside = [
        _rel(path)
        for path in (ROOT / "conformance").iterdir()
        if path.name != "__init__.py"
        and not path.name.startswith((".", "_"))
        and (path.suffix == ".py" or (path.is_dir() and any(path.glob("*.py"))))
        and path.stem not in LAYERS
    ]
    assert not outside, f"not in a layer of {sorted(LAYERS)}: {outside}"


def test_layer_rule_inside_the_kit() -> None:
    found = _layer_violations()
    new = sorted(v for v in found if (v[0], v[1]) not in KNOWN_VIOLATIONS)
    lines = [
        f"  {file}:{line}: {mine} imports {module} ({theirs} is "
        f"{'beside' if LAYERS[theirs] == LAYERS[mine] else 'above'} {mine})"
        for file, module, line, mine, theirs in new
    ]
    assert not new, "the layer rule is broken:\n" + "\n".join(lines)
    gone = KNOWN_VIOLATIONS - {(v[0], v[1]) for v in found}
    assert not gone, f"fixed, so remove them from KNOWN_VIOLATIONS: {sorted(gone)}"


@pytest.mark.parametrize("package", ["regenkey", "reference_impl"])
def test_the_kit_is_used_through_its_entry_points(package: str) -> None:
    """regenkey/ uses the public API and the entry modules; reference_impl/ the public API."""
    allowed = {"conformance"} | (set(conformance.ENTRY_MODULES) if package == "regenkey" else set())
    bad = sorted(
        {
            f"  {_rel(path)}:{line}: imports {module}"
            for path in (ROOT / package).rglob("*.py")
            for line, module in _imported_modules(path)
            if module.split(".")[0] == "conformance" and module not in allowed
        }
    )
    assert not bad, (
        "the kit's inside is imported (use the public API, or name an entry module in "
        "conformance.ENTRY_MODULES on purpose):\n" + "\n".join(bad)
    )


def test_entry_modules_exist() -> None:
    for module in conformance.ENTRY_MODULES:
        path = ROOT / (module.replace(".", "/") + ".py")
        assert path.is_file(), module


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
    too_long = []
    for path in sorted((ROOT / package).rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_long.append(f"  {_rel(path)} has {lines} lines")
        assert path.name != "utils.py", _rel(path)
    assert not too_long, f"modules over {limit} lines:\n" + "\n".join(too_long)
