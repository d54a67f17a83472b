"""The kit's commands, timed: suite throughput, scaling, start-up and memory.

Server-suite throughput: ``regenkey check-server`` against ``schemathesis run``.

Both judge the same reference server process (``regenkey serve --memory``)
with the same account, each run as its own command, with about the same
number of cases. Schemathesis gets the account's credentials injected into
its positive cases (:mod:`bench.peers`) so that it really tests
successful regenerations, and ``negative_data_rejection`` is excluded: it
expects a 4xx where this API answers 200 with an error envelope, so it fails
every correct server. The server's own access log counts the requests each
tool sent and how many regenerated a key, as proof that both really tested.

Scaling runs check-server alone at growing ``--max-examples``; start-up and
memory are at the end of this module.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    BIN,
    HOST,
    ROOT,
    Finished,
    Server,
    env,
    free_port,
    measure,
    reference_server,
    rss_mib,
    summary,
)
from bench.peers import schemathesis_env
from conformance import ENDPOINT_PATH

USER, PASSWORD = "bench", "bench-Pa55word"
#: check-server's second account (--tricky-user-id): without it RK-ROT-008 and
#: RK-PARAM-002 go unjudged and the verdict is INCOMPLETE, not a full run.
TRICKY_USER, TRICKY_PASSWORD = "bench-tricky", "Tr1cky pw+&=%41ü"
ACCOUNTS = [(USER, PASSWORD), (TRICKY_USER, TRICKY_PASSWORD)]
REGENERATED = "result=success"
REQUEST_LINE = "regenkey.server "


def check_server(
    srv: Server, max_examples: int, seed: int, timeout: float | None = None
) -> dict[str, Any]:
    """One ``regenkey check-server`` run, stopped after ``timeout`` seconds
    (by default 300 and 0.15 s an example: 10,000 examples at the modern
    password cost take about six minutes on two quiet cores)."""
    if timeout is None:
        timeout = 300 + 0.15 * max_examples
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            str(BIN / "regenkey"), "check-server", "--base-url", srv.url, "--user-id", USER,
            "--tricky-user-id", TRICKY_USER,
            "--max-examples", str(max_examples), "--seed", str(seed), "--report-dir", tmp,
        ]  # fmt: skip
        before = (srv.log_lines(REQUEST_LINE), srv.log_lines(REGENERATED))
        secrets = env(REGENKEY_PASSWORD=PASSWORD, REGENKEY_TRICKY_PASSWORD=TRICKY_PASSWORD)
        run = measure(command, secrets, timeout=timeout)
        path = Path(tmp) / "report.json"
        if not path.exists():
            raise RuntimeError(f"check-server wrote no report (exit {run.returncode})")
        report = json.loads(path.read_text(encoding="utf-8"))
    return _result(run, report["cases"], report["duration_s"], srv, before, report["verdict"])


def schemathesis(
    srv: Server,
    max_examples: int,
    seed: int,
    phases: str | None,
    workers: str | None = None,
    extension: bool = False,
) -> dict[str, Any]:
    """One ``schemathesis run``: set up as :mod:`bench.peers` says (``workers``
    None: its default, one worker), or with the kit's extension
    (``regenkey.schemathesis`` and docs/schemathesis.toml) instead."""
    config = ["--config-file", str(ROOT / "docs" / "schemathesis.toml")] if extension else []
    excluded = [] if extension else ["--exclude-checks", "negative_data_rejection"]
    command = [
        str(BIN / "schemathesis"), *config, "run", str(ROOT / "spec" / "openapi.yaml"),
        "--url", srv.url, "--max-examples", str(max_examples), "--seed", str(seed),
        "--generation-database", "none", *excluded,
        "--no-color", *(["--phases", phases] if phases else []),
        *(["--workers", workers] if workers else []),
    ]  # fmt: skip
    if extension:
        hooks = env(SCHEMATHESIS_HOOKS="regenkey.schemathesis", REGENKEY_USER_ID=USER,
                    REGENKEY_PASSWORD=PASSWORD)  # fmt: skip
    else:
        hooks = env(**schemathesis_env(), BENCH_USER_ID=USER, BENCH_PASSWORD=PASSWORD)
    before = (srv.log_lines(REQUEST_LINE), srv.log_lines(REGENERATED))
    run = measure(command, hooks)
    cases = re.search(r"(\d+) generated", run.stdout)
    took = re.search(r"(?:No issues found|issues? found) in ([\d.]+)s", run.stdout)
    if cases is None:
        raise RuntimeError(f"schemathesis printed no case count:\n{run.stdout[-2000:]}")
    verdict = "pass" if "No issues found" in run.stdout else "issues reported"
    internal = float(took.group(1)) if took else run.seconds
    return _result(run, int(cases.group(1)), internal, srv, before, verdict)


def _result(run: Finished, cases: int, internal_s: float, srv: Server,
            before: tuple[int, int], verdict: str) -> dict[str, Any]:  # fmt: skip
    return {
        "cases": cases,
        "wall_s": run.seconds,
        "internal_s": internal_s,
        "cases_per_s": cases / run.seconds,
        "cases_per_s_internal": cases / internal_s if internal_s else None,
        "peak_rss_mib": run.peak_rss_mib,
        "cpu_s": run.cpu_s,
        "requests_seen_by_server": srv.log_lines(REQUEST_LINE) - before[0],
        "regenerations_seen_by_server": srv.log_lines(REGENERATED) - before[1],
        "exit_code": run.returncode,
        "verdict": verdict,
    }


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs}
    for name in ("cases", "wall_s", "cases_per_s", "cases_per_s_internal", "peak_rss_mib",
                 "requests_seen_by_server", "regenerations_seen_by_server"):  # fmt: skip
        out[name] = summary([float(r[name]) for r in runs])
    return out


WORKERS = ("1", "2", "auto")  # schemathesis --workers settings measured; "1" is its default


def throughput(kit_examples: int, peer_examples: int, repeats: int,
               peer_phases: str | None = None) -> dict[str, Any]:  # fmt: skip
    """check-server and schemathesis at each ``--workers`` setting, in turn,
    ``repeats`` rounds (schemathesis with its default phases unless
    ``peer_phases`` says otherwise). Schemathesis' default is one worker; its
    best setting is the one with the highest median rate in this run."""
    kit: list[dict[str, Any]] = []
    peer: dict[str, list[dict[str, Any]]] = {w: [] for w in WORKERS}
    with reference_server(ACCOUNTS) as srv:
        for n in range(repeats):
            kit.append(check_server(srv, kit_examples, seed=n + 1))
            for workers in WORKERS:
                peer[workers].append(
                    schemathesis(
                        srv, peer_examples, seed=n + 1, phases=peer_phases, workers=workers
                    )
                )
    kit_s = _summarise(kit)
    by_workers = {w: _summarise(runs) for w, runs in peer.items()}
    best = max(WORKERS, key=lambda w: by_workers[w]["cases_per_s"]["median"])
    default, top = by_workers["1"], by_workers[best]
    rate, own = kit_s["cases_per_s"]["median"], kit_s["cases_per_s_internal"]["median"]
    return {
        "check_server": {"max_examples": kit_examples, **kit_s},
        "schemathesis": {
            "max_examples": peer_examples,
            "phases": peer_phases or "default",
            "workers": "1 (its default)",
            **default,
        },
        "schemathesis_best": {"max_examples": peer_examples, "workers": best, **top},
        "schemathesis_by_workers": {
            w: {"cases_per_s": s["cases_per_s"], "cases": s["cases"]} for w, s in by_workers.items()
        },
        "ratio": rate / top["cases_per_s"]["median"],  # the target: against the best setting
        "ratio_default": rate / default["cases_per_s"]["median"],
        "ratio_internal": own / top["cases_per_s_internal"]["median"],
        "target": 3.0,
    }


def _per_case(run: dict[str, Any], seconds: str) -> float:
    return float(run[seconds]) / float(run["cases"])


def extension_overhead(max_examples: int, repeats: int, phases: str) -> dict[str, Any]:
    """Schemathesis with the kit's extension against schemathesis without it
    (the credentials hook of :mod:`bench.peers` only), same phases (the
    stateful phase needs the extension's links, so it is left out of both), as
    seconds per case: the extension's own cost.

    Each round runs the two back to back, in alternating order (so a load that
    drifts on a shared machine favours neither), and gives one ratio; the
    overhead is the median of the rounds' ratios. ``overhead_cpu`` is the same
    over the schemathesis process's own CPU time, which another process's
    load disturbs less."""
    plain: list[dict[str, Any]] = []
    ext: list[dict[str, Any]] = []
    with reference_server(ACCOUNTS) as srv:
        for n in range(repeats):
            for extension in (False, True) if n % 2 == 0 else (True, False):
                run = schemathesis(srv, max_examples, n + 1, phases, extension=extension)
                (ext if extension else plain).append(run)
    without, with_ = _summarise(plain), _summarise(ext)
    pairs = list(zip(plain, ext, strict=True))
    wall = [_per_case(w, "wall_s") / _per_case(p, "wall_s") for p, w in pairs]
    cpu = [_per_case(w, "cpu_s") / _per_case(p, "cpu_s") for p, w in pairs]
    return {
        "phases": phases,
        "max_examples": max_examples,
        "without_extension": without,
        "with_extension": with_,
        "overhead": summary(wall)["median"],
        "overhead_by_round": [round(r, 3) for r in wall],
        "overhead_cpu": summary(cpu)["median"],
        "order": "alternating: without first in even rounds, with first in odd rounds",
        "target": 1.3,
    }


def scaling(steps: list[int], repeats: int, reuse: dict[str, Any] | None = None,
            big: int = 5000) -> list[dict[str, Any]]:  # fmt: skip
    """check-server at growing ``--max-examples``: cases per second and peak RSS.

    A step the suite already ran (``reuse``) takes those runs; steps from
    ``big`` examples up run once (at the modern password cost about 40,000
    requests, minutes each), to keep ``make bench`` short.
    """
    rows = []
    with reference_server(ACCOUNTS) as srv:
        for max_examples in steps:
            if reuse and reuse["check_server"]["max_examples"] == max_examples:
                rows.append(_row(reuse["check_server"]))
                continue
            count = repeats if max_examples < big else 1
            runs = [check_server(srv, max_examples, seed=n + 1) for n in range(count)]
            rows.append({"max_examples": max_examples, **_summarise(runs)})
    return rows


def _row(kit: dict[str, Any]) -> dict[str, Any]:
    keys = ("max_examples", "runs", "cases", "cases_per_s", "peak_rss_mib")
    return {key: kit[key] for key in keys}


def scaling_from(throughput_result: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One scaling row from the suite's own check-server runs (quick mode)."""
    return [_row(throughput_result["check_server"])] if throughput_result else []


# --- start-up and memory -----------------------------------------------------------
# `regenkey --help` (wall time); the reference server from Popen to the first
# answered request (polled every 5 ms on a port chosen beforehand), then its
# idle RSS; `regenkey run` (what `make run` runs once the venv exists), wall
# time and peak RSS from the child's own rusage (wait4).


def help_time(repeats: int) -> dict[str, Any]:
    runs = [measure([str(BIN / "regenkey"), "--help"], env()) for _ in range(repeats)]
    return summary([r.seconds for r in runs])


def _answered(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(f"GET {ENDPOINT_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            return sock.recv(64).startswith(b"HTTP/1.1 ")
    except OSError:
        return False


def server_start(repeats: int, idle_after: float = 0.5, timeout: float = 30) -> dict[str, Any]:
    first, idle = [], []
    for _ in range(repeats):
        port = free_port()
        command = [str(BIN / "regenkey"), "serve", "--port", str(port), "--memory"]
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env(REGENKEY_ACCOUNTS="bench:bench-Pa55"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            while not _answered(port):
                if proc.poll() is not None or time.perf_counter() - started > timeout:
                    raise RuntimeError("the reference server did not answer")
                time.sleep(0.005)
            first.append(time.perf_counter() - started)
            time.sleep(idle_after)
            idle.append(rss_mib(proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return {"first_answer_s": summary(first), "idle_rss_mib": summary(idle, digits=1)}


def kit_run(repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:  # its reports/ land there
        runs = [
            measure([str(BIN / "regenkey"), "run"], env(), cwd=Path(tmp)) for _ in range(repeats)
        ]
    if any(r.returncode != 0 for r in runs):
        raise RuntimeError("regenkey run failed:\n" + runs[-1].stdout[-2000:])
    return {
        "wall_s": summary([r.seconds for r in runs]),
        "peak_rss_mib": summary([r.peak_rss_mib for r in runs], digits=1),
    }


def startup(repeats: int, with_run: bool = True) -> dict[str, Any]:
    return {
        "regenkey_help_s": help_time(repeats),
        "reference_server": server_start(repeats, 0.5 if with_run else 0.1),
        "regenkey_run": kit_run(repeats) if with_run else {"skipped": "not run in quick mode"},
    }
