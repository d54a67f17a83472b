"""The mutation harness (``make mutation``: bench/mutation.py, bench/mutation_check.py).

What it must hold to: the modules are shared out among the mutmut processes
so that every module is mutated exactly once and a kept run resumes with the
same groups; a kept run's parts are all scored; a check-server run stops only
at an outcome that already makes the strict verdict non-PASS; and the second
pass judges ``regenkey serve`` itself, a child process that answers on the
wire and is gone afterwards.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from bench.mutation import parts, share_out
from bench.mutation_check import (
    SERVE_ONLY,
    FirstFailure,
    _stops_at_first_failure,
    mutated_modules,
    regenkey_serve,
)
from conformance import ENDPOINT_PATH

# Loopback only, never through the environment's proxy.
OPEN = urllib.request.build_opener(urllib.request.ProxyHandler({})).open

COUNTS = {
    "requests.py": 249,
    "app.py": 148,
    "store.py": 136,
    "passwords.py": 117,
    "logwriter.py": 89,
    "protocol.py": 87,
    "run.py": 75,
    "connections.py": 69,
    "accesslog.py": 52,
}


def test_every_module_is_in_exactly_one_group() -> None:
    groups = share_out(COUNTS, 3)
    assert len(groups) == 3
    flat = [m for g in groups for m in g]
    assert sorted(flat) == sorted(COUNTS)


def test_groups_are_balanced_by_mutants() -> None:
    totals = [sum(COUNTS[m] for m in g) for g in share_out(COUNTS, 2)]
    # Largest first, each to the lightest group: within the largest module of each other.
    assert max(totals) - min(totals) <= max(COUNTS.values())
    assert abs(totals[0] - totals[1]) < 100


def test_the_same_modules_make_the_same_groups() -> None:
    shuffled = dict(reversed(list(COUNTS.items())))
    assert share_out(COUNTS, 2) == share_out(shuffled, 2)


def test_more_jobs_than_modules_leaves_no_empty_group() -> None:
    assert share_out({"a.py": 3, "b.py": 1}, 5) == [["a.py"], ["b.py"]]
    assert share_out({"a.py": 3}, 0) == [["a.py"]]


def test_a_kept_run_is_scored_over_all_its_parts(tmp_path: Path) -> None:
    for n in (2, 1):
        (tmp_path / f"part-{n}").mkdir()
        (tmp_path / f"part-{n}" / ".mutmut-cache").write_bytes(b"")
    (tmp_path / "part-3").mkdir()  # no cache: a part that never started
    assert parts(tmp_path) == [tmp_path / "part-1", tmp_path / "part-2"]


def test_a_run_kept_before_jobs_is_its_own_part(tmp_path: Path) -> None:
    (tmp_path / ".mutmut-cache").write_bytes(b"")
    assert parts(tmp_path) == [tmp_path]


def test_the_mutated_module_is_the_one_mutmut_backed_up(tmp_path: Path) -> None:
    (tmp_path / "protocol.py").write_text("")
    (tmp_path / "app.py").write_text("")
    assert mutated_modules(tmp_path) == set()  # outside a mutmut run: both passes
    (tmp_path / "protocol.py.bak").write_text("")
    assert mutated_modules(tmp_path) == {"protocol.py"}


def test_only_modules_no_in_process_run_calls_skip_the_first_pass() -> None:
    # The embedded server is build_app on a MemoryStore under uvicorn's h11: it runs
    # app, requests, store, passwords, login_cache and accesslog, never serve() and what it uses.
    assert SERVE_ONLY == {"connections.py", "logwriter.py", "protocol.py", "run.py"}
    server = Path(__file__).resolve().parent.parent / "reference_impl" / "server"
    in_process = {
        "app.py",
        "requests.py",
        "store.py",
        "passwords.py",
        "login_cache.py",
        "accesslog.py",
    }
    assert in_process.isdisjoint(SERVE_ONLY)
    assert {p.name for p in server.glob("*.py")} - {"__init__.py"} == in_process | SERVE_ONLY


@pytest.mark.parametrize("outcome", ["failures", "error"])
def test_the_run_stops_at_a_failure_or_an_error(outcome: str) -> None:
    progress = _stops_at_first_failure(None)
    with pytest.raises(FirstFailure):
        progress(3, 30, "some_check", outcome)


@pytest.mark.parametrize("outcome", ["ok", "blocked"])
def test_the_run_goes_on_after_a_pass_or_a_block(outcome: str) -> None:
    # A block is not always a non-PASS (a SHOULD may be skipped): only the whole run says.
    progress = _stops_at_first_failure(None)
    progress(3, 30, "some_check", outcome)


@pytest.mark.slow
def test_regenkey_serve_answers_on_the_wire_and_is_stopped(tmp_path: Path) -> None:
    db = str(tmp_path / "keys.db")
    with regenkey_serve([("mutation-user", "Pw 1+&=%")], db) as base_url:
        assert base_url is not None and base_url.startswith("http://127.0.0.1:")
        query = "?userId=mutation-user&password=Pw%201%2B%26%3D%25&format=json"
        with OPEN(base_url + ENDPOINT_PATH + query, timeout=10) as answer:
            body = answer.read().decode()
        assert '"status": "success"' in body or '"status":"success"' in body
    with pytest.raises(OSError):  # stopped: nothing listens there any more
        OPEN(base_url + ENDPOINT_PATH, timeout=5)


@pytest.mark.slow
def test_a_server_that_never_listens_is_reported_as_none(tmp_path: Path) -> None:
    # A database path inside a file cannot be opened: `regenkey serve` exits.
    blocker = tmp_path / "file"
    blocker.write_text("")
    with regenkey_serve([("u", "p")], str(blocker / "keys.db")) as base_url:
        assert base_url is None


@pytest.mark.slow
def test_the_server_dies_with_a_harness_killed_by_a_timeout(tmp_path: Path) -> None:
    # mutmut SIGKILLs a runner that overruns; its `regenkey serve` must not outlive it.
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from bench.mutation_check import regenkey_serve\n"
        f"with regenkey_serve([('u', 'p')], {str(tmp_path / 'k.db')!r}) as url:\n"
        "    print(url, flush=True)\n"
        "    time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    harness = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=root
    )
    try:
        assert harness.stdout is not None
        base_url = harness.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        OPEN(base_url + ENDPOINT_PATH, timeout=10).close()
        harness.send_signal(signal.SIGKILL)
        harness.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                OPEN(base_url + ENDPOINT_PATH, timeout=2).close()
            except OSError:
                return  # gone
            time.sleep(0.2)
        pytest.fail("regenkey serve outlived its harness")
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait(timeout=10)
