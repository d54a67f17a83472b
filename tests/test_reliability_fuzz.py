"""Fuzz: generated requests against a running `regenkey serve` process.

Valid, malformed, oversized, wrong types, odd encodings and random bytes
(tests/reliability/fuzz.py), sent from several threads over loopback
sockets: zero 5xx, no echoed password, the process alive, its log free of
tracebacks, and a valid regeneration still works afterwards. The slow test
sends 100,000 requests (`make soak`); `make test` runs a 2,000-request slice.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from reference_impl.client import ApiError, regenerate_api_key
from tests.reliability.figures import record
from tests.reliability.fuzz import Account, Case, generate
from tests.reliability.process import ServerProcess, server
from tests.reliability.raw import Connection, NoResponse

ACCOUNT = Account("fuzz-user", "Fuzz pa&ss+wörd=1")
THREADS = 8


def fuzz(proc: ServerProcess, total: int, seed: int, budget_s: float) -> dict[str, object]:
    """Send ``total`` generated requests from :data:`THREADS` threads; the tally."""
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + budget_s
    password = ACCOUNT.password.encode()

    def judge(case: Case, outcome: str, body: bytes | None) -> None:
        if outcome.startswith("5") or (outcome.startswith("none") and not case.may_close):
            problems.append(f"{case.kind} -> {outcome}: {case.data[:160]!r}")
        if body is not None and password in body:
            problems.append(f"{case.kind}: the password echoed")

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        kept = Connection(proc.host, proc.port, timeout=10)
        tally: Counter[str] = Counter()
        for _ in range(total // THREADS + (index < total % THREADS)):
            if time.monotonic() > deadline:
                break
            case = generate(rng, ACCOUNT)
            conn = kept if case.framed else Connection(proc.host, proc.port, timeout=10)
            try:
                response = conn.request(case.data, half_close=case.half_close)
                outcome, body = str(response.status), response.body
            except NoResponse as exc:  # closed (or timed out) without an answer
                outcome, body = f"none:{exc.why}", None
            finally:
                if conn is not kept:
                    conn.close()
            tally[outcome] += 1
            tally[f"kind:{case.kind}"] += 1
            tally["rotations"] += case.rotates and outcome == "200"
            with lock:
                judge(case, outcome, body)
        kept.close()
        with lock:
            outcomes.update(tally)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=budget_s + 30)
    elapsed = time.monotonic() - started
    sent = sum(v for k, v in outcomes.items() if k.startswith("kind:"))
    return {
        "requests": sent,
        "seconds": round(elapsed, 1),
        "requests_per_s": round(sent / elapsed),
        "status": {
            k: v for k, v in sorted(outcomes.items()) if k[0].isdigit() or k.startswith("none")
        },
        "kinds": {k[5:]: v for k, v in sorted(outcomes.items()) if k.startswith("kind:")},
        "rotations": outcomes["rotations"],
        "server_5xx": sum(v for k, v in outcomes.items() if k.startswith("5")),
        "problems": problems[:20],
        "problem_count": len(problems),
    }


def still_serves(url: str) -> None:
    """A valid regeneration works; the new key works; the old one is refused."""
    first = regenerate_api_key(url, user_id=ACCOUNT.user_id, password=ACCOUNT.password)
    second = regenerate_api_key(url, api_key=first.api_key, format="xml")
    assert second.api_key != first.api_key
    with pytest.raises(ApiError):
        regenerate_api_key(url, api_key=first.api_key)


def run(tmp_path: Path, total: int, seed: int, budget_s: float, key: str) -> None:
    with server(tmp_path, [(ACCOUNT.user_id, ACCOUNT.password)]) as proc:
        figure = fuzz(proc, total, seed, budget_s)
        assert proc.alive(), "the server died under fuzzing"
        figure["peak_rss_mib"] = round(proc.memory_kib("VmHWM") / 1024, 1)
        still_serves(proc.url)
    # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully
    assert proc.process.returncode in (0, -signal.SIGTERM), "the server did not stop cleanly"
    log = proc.log_text()
    figure |= {
        "seed": seed,
        "tracebacks_in_log": log.count("Traceback"),
        "internal_errors_in_log": log.count("result=internal-error"),
    }
    record(key, figure)
    assert figure["requests"] == total, f"only {figure['requests']} sent within {budget_s} s"
    assert figure["server_5xx"] == 0 and figure["problem_count"] == 0, figure["problems"]
    assert figure["tracebacks_in_log"] == 0 and figure["internal_errors_in_log"] == 0
    assert ACCOUNT.password not in log


def test_fuzz_fast_slice(tmp_path: Path) -> None:
    run(tmp_path, 2_000, seed=1, budget_s=60, key="fuzz_fast")


@pytest.mark.slow
def test_fuzz_100k_requests(tmp_path: Path) -> None:
    run(tmp_path, 100_000, seed=2, budget_s=600, key="fuzz")
