"""Every broken client in tests/clients/broken/ is caught with exactly its ids
(issue 16, acceptance): one file per client, in any language, run as
``INTERPRETER FILE`` by ``regenkey check-client --command``.

Each file's first comment lines carry

    regenkey-expect: RK-CLI-002[,RK-...]   the ids check-client must find broken
    regenkey-fault: <one line>             what is wrong with it
    regenkey-flags: --raw --formats plain  (optional) what the client supports

A MUST among the expected ids must FAIL and a SHOULD be NON-STRICT (a SHOULD
is never a FAIL); no other id may be broken, nothing may be an ERROR, and the
exit code agrees (1 when a MUST broke, else 0). The fast suite runs one file
per fault (languages in turn) under one seed; every file runs under four seeds
with the ``slow`` marker. A file whose interpreter (or,
for a shell client, curl) is not installed is skipped with the reason.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.spec.catalogue import catalogue
from regenkey.cli import main

BROKEN = Path(__file__).resolve().parent / "clients" / "broken"
INTERPRETERS = {".py": sys.executable, ".sh": "bash", ".js": "node", ".php": "php"}
NEEDS = {".sh": ("curl",)}  # what a client of this kind calls besides its interpreter
HEADER_LINES = 12  # the header lines are among a file's first lines
FAST_SEEDS = (16,)
SLOW_SEEDS = (1, 2, 3)
RID = re.compile(r"RK-[A-Z]+-\d{3}")


@dataclass(frozen=True)
class BrokenClient:
    path: Path
    expect: frozenset[str]
    fault: str
    flags: tuple[str, ...]

    @property
    def command(self) -> str:
        interpreter = INTERPRETERS[self.path.suffix]
        return f"{shlex.quote(interpreter)} {shlex.quote(str(self.path))}"


def header(path: Path, name: str) -> str | None:
    """The value of a ``regenkey-NAME:`` line among the file's first lines."""
    lines = path.read_text(encoding="utf-8").splitlines()[:HEADER_LINES]
    found = [
        line.split(f"regenkey-{name}:", 1)[1].strip()
        for line in lines
        if f"regenkey-{name}:" in line
    ]
    return found[0] if found else None


def load(path: Path) -> BrokenClient:
    expect = header(path, "expect") or ""
    ids = frozenset(part.strip() for part in expect.split(",") if part.strip())
    return BrokenClient(
        path, ids, header(path, "fault") or "", tuple(shlex.split(header(path, "flags") or ""))
    )


def discovered() -> list[Path]:
    return sorted(p for p in BROKEN.glob("*") if p.suffix in INTERPRETERS and p.is_file())


def check_client(tmp_path: Path, client: BrokenClient, seed: int) -> tuple[int, dict[str, Any]]:
    reports = tmp_path / "reports"
    argv = ["check-client", "--command", client.command, "--report-dir", str(reports)]
    code = main([*argv, "--seed", str(seed), "--timeout", "2", "--jobs", "4", *client.flags])
    return code, json.loads((reports / "report.json").read_text(encoding="utf-8"))


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["status"] for r in report["requirements"]}


def judge(tmp_path: Path, path: Path, seed: int) -> None:
    missing = [
        t
        for t in (INTERPRETERS[path.suffix], *NEEDS.get(path.suffix, ()))
        if shutil.which(t) is None
    ]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: {path.name} cannot run")
    client = load(path)
    code, report = check_client(tmp_path, client, seed)
    status = statuses(report)
    broken = {rid for rid, s in status.items() if s in ("fail", "non-strict")}
    failures = [f for r in report["requirements"] for f in r.get("failures", [])][:3]
    assert {rid for rid, s in status.items() if s in ("error", "incomplete")} == set(), failures
    assert broken == client.expect, (client.fault, failures)
    levels = {r.id: r.level.value for r in catalogue()}
    for rid in client.expect:
        assert status[rid] == ("fail" if levels[rid] == "MUST" else "non-strict"), rid
    assert code == (1 if any(levels[rid] == "MUST" for rid in client.expect) else 0)


def test_every_broken_client_names_its_ids_and_its_fault() -> None:
    clients = [load(p) for p in discovered()]
    assert clients, f"no broken clients in {BROKEN}"
    known = {r.id for r in catalogue()}
    for client in clients:
        assert client.expect and all(RID.fullmatch(rid) for rid in client.expect), client.path.name
        assert client.expect <= known, (client.path.name, client.expect - known)
        assert client.fault, f"{client.path.name}: no regenkey-fault line"


def one_per_fault() -> list[Path]:
    """One file per fault for the fast suite, the language taken in turn, so
    that every language appears; every file runs under the ``slow`` marker."""
    by_fault: dict[str, list[Path]] = {}
    for path in discovered():
        by_fault.setdefault(path.stem, []).append(path)
    return [paths[i % len(paths)] for i, (_, paths) in enumerate(sorted(by_fault.items()))]


@pytest.mark.parametrize("seed", FAST_SEEDS)
@pytest.mark.parametrize("path", one_per_fault(), ids=lambda p: p.name)
def test_a_broken_client_is_caught_with_exactly_its_ids(
    tmp_path: Path, path: Path, seed: int
) -> None:
    judge(tmp_path, path, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", (*FAST_SEEDS, *SLOW_SEEDS))
@pytest.mark.parametrize("path", discovered(), ids=lambda p: p.name)
def test_every_broken_client_is_caught_with_exactly_its_ids_under_four_seeds(
    tmp_path: Path, path: Path, seed: int
) -> None:
    judge(tmp_path, path, seed)
