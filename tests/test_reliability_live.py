"""Live mode: the kit is killed (SIGKILL) between a rotation and its next
request; the key file must hold the newest key, written atomically, mode 0600.

A gate (tests/reliability/proxy.py) stands between the kit and a `regenkey
serve` process: it notes every key the server hands out and, after the
N-th, holds the next request. The kit is killed while it waits, so the kill
falls exactly between a rotation and its next request. The key file must
then hold the N-th key, which must work against the server; the directory
holds nothing else (no temporary file). `make test` kills after the fourth rotation,
`make soak` at every rotation of a whole run.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conformance import catalogue
from conformance.server.runner import selected_checks
from reference_impl.client import regenerate_api_key
from tests.reliability.figures import record
from tests.reliability.process import COMMAND, ServerProcess, server
from tests.reliability.proxy import Gate, gate_proxy

USER, PASSWORD = "live-user", "Live pa&ss 123"
CONCURRENT = "RK-ROT-005"  # the check that regenerates from 8 threads at once


def _requirements(concurrent: bool) -> list[str]:
    # the ids the server suite can judge (a catalogue id it cannot is a usage error)
    judged = {rid for check in selected_checks(None) for rid in check.requirement_ids}
    ids = [r.id for r in catalogue() if r.applies_to_server() and r.id in judged]
    chosen = [CONCURRENT] if concurrent else [i for i in ids if i != CONCURRENT]
    return [arg for rid in chosen for arg in ("--req", rid)]


def run_kit(
    proc: ServerProcess, key_file: Path, hold_after: int | None, concurrent: bool, reports: Path
) -> tuple[Gate, bool]:
    """Run a live check-server through the gate; kill it once the gate holds.
    (the gate, whether the kit was killed while held)."""
    with gate_proxy(proc.host, proc.port, hold_after) as (url, gate):
        kit = subprocess.Popen(
            [
                *COMMAND,
                "check-server",
                "--base-url",
                url,
                "--user-id",
                USER,
                "--live",
                "--key-file",
                str(key_file),
                "--max-examples",
                "3",
                "--max-rotations",
                "500",
                "--max-bad-logins",  # a sandbox account: no lockout to fear
                "1000",
                "--seed",
                "5",
                "--report-dir",
                str(reports),
                *_requirements(concurrent),
            ],
            env={**os.environ, "REGENKEY_PASSWORD": PASSWORD},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while kit.poll() is None and not gate.holding.is_set() and time.monotonic() < deadline:
            time.sleep(0.002)
        held = gate.holding.is_set()
        if kit.poll() is None:
            os.killpg(kit.pid, signal.SIGKILL)
        kit.wait(timeout=10)
    return gate, held


END = "the run ended before that rotation"


def kill_at(proc: ServerProcess, tmp: Path, n: int, concurrent: bool = False) -> str | None:
    """Kill the kit after the n-th rotation; what is wrong with the key file, if anything."""
    key_file = tmp / f"kill-{n}" / "current.key"
    gate, held = run_kit(proc, key_file, n, concurrent, tmp / "reports")
    if not held:
        return END
    newest = gate.keys[-1]
    if not key_file.exists():
        return "no key file"
    if key_file.read_text(encoding="ascii") != newest + "\n":
        return "the key file does not hold the newest key"
    if stat.S_IMODE(key_file.stat().st_mode) != 0o600:
        return f"mode {oct(stat.S_IMODE(key_file.stat().st_mode))}"
    if sorted(p.name for p in key_file.parent.iterdir()) != ["current.key"]:
        return "a temporary file was left behind"
    regenerate_api_key(proc.url, api_key=newest)  # it works (and rotates: the next run starts anew)
    return None


def every_kill_point(proc: ServerProcess, tmp: Path, concurrent: bool) -> dict[int, str | None]:
    """Kill after rotation 1, 2, ... until a run ends before the kill point."""
    problems: dict[int, str | None] = {}
    for n in range(1, 200):
        problems[n] = kill_at(proc, tmp, n, concurrent)
        if problems[n] == END:
            del problems[n]
            break
    return problems


def test_kill_between_a_rotation_and_its_next_request(tmp_path: Path) -> None:
    with server(tmp_path, [(USER, PASSWORD)]) as proc:
        problem = kill_at(proc, tmp_path, 4)
    record("live_kill_fast", {"kill_point": 4, "problem": problem})
    assert problem is None


@pytest.mark.slow
def test_kill_after_every_rotation_of_a_run(tmp_path: Path) -> None:
    with server(tmp_path, [(USER, PASSWORD)]) as proc:
        problems = every_kill_point(proc, tmp_path, concurrent=False)
    failing = {n: p for n, p in problems.items() if p}
    record("live_kill", {"kill_points": len(problems), "failing": failing})
    assert len(problems) > 10 and failing == {}


@pytest.mark.slow
def test_kill_during_the_concurrent_rotation_check(tmp_path: Path) -> None:
    # RK-ROT-005 regenerates from 8 threads at once, so its keys cannot reach
    # the key file in order: a live run must skip it (then it rotates nothing
    # and there is no kill point), or keep the file current at every one.
    with server(tmp_path, [(USER, PASSWORD)]) as proc:
        problems = every_kill_point(proc, tmp_path, concurrent=True)
    failing = {n: p for n, p in problems.items() if p}
    record("live_kill_concurrent_check", {"kill_points": len(problems), "failing": failing})
    assert failing == {}
