"""The limit: a bare loop of apiKey rotations, and check-server measured against it.

The kit's cases are requests, so the fastest any sequential suite can go is
a bare loop of the same kind of request on one keep-alive connection. This
section measures, against one reference server process and in the same run,
round after round:

* two bare loops of apiKey rotations (``GET`` with the key the last answer
  issued in the ``apiKey`` header), each its own process: one on the kit's
  own client (:class:`conformance.transport.exchange.HttpClient`), one on ``httpx``.
  The faster of the two medians is *the limit*;
* ``check-server --max-examples`` at each size (2,000 and 10,000 in
  ``make bench``), in requests per second: the requests the server's access
  log saw, over the run's own clock (``duration_s`` in report.json, without
  the interpreter's start-up) and over the wall clock (with it);
* beside each, **the replay**: check-server's own request sequence at that
  size and seed, sent as a bare loop on the kit's client (one keep-alive
  connection, as long as the server keeps it), with no judging. The
  sequence is captured in memory (it holds the account's password, so it is
  never written anywhere) from a run of the same command against a private
  reference server with cheap password hashing; the replay sends it to the
  measured server, so the server's hashing of refused logins is on both
  sides. Keys in the captured requests are stale by then: those requests are
  refused (no hashing) where check-server's succeeded (none either).

``python -m bench.limit URL USER PASSWORD N kit|httpx`` runs one loop and
``python -m bench.limit replay URL MAX_EXAMPLES SEED`` one replay (the
passwords from ``REGENKEY_PASSWORD`` and ``REGENKEY_TRICKY_PASSWORD``); each
prints its figures as JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench import suite
from bench.common import ROOT, Server, env, reference_server, summary
from bench.suite import ACCOUNTS, PASSWORD, TRICKY_PASSWORD, TRICKY_USER, USER

#: A check-server run here is bounded too, but 10,000 examples against the
#: modern password cost on a loaded machine take longer than suite's default.
CHECK_TIMEOUT_S = 3600
REPLAY_COST = "fast"  # the capture server's --password-cost
#: One captured request: method, URL, headers, and the body (a list: chunked).
Sent = tuple[str, str, list[tuple[str, str]], bytes | list[bytes]]

LOOP_USER, LOOP_PASSWORD = "loop", "loop-Pa55word"
KEY = re.compile(rb'"apiKey"\s*:\s*"([0-9a-fA-F]{32})"')
PATH = "/SMSApi/rest/regenerateAPIKey"
REFUSED_LOGIN = "auth=credentials result=invalid-credentials"


def _key(body: bytes) -> str:
    match = KEY.search(body)
    if match is None:
        raise RuntimeError(f"no new key in {body[:200]!r}")
    return match.group(1).decode("ascii")


def loop(url: str, user: str, password: str, count: int, client: str) -> dict[str, Any]:
    """``count`` apiKey rotations on one keep-alive connection; every answer
    must carry a new key (the next request presents it)."""
    first = f"{url}{PATH}?userId={user}&password={password}&format=json"
    target = f"{url}{PATH}?format=json"
    if client == "kit":
        from conformance.transport.exchange import HttpClient

        with HttpClient(timeout=10.0) as kit:
            key = _key(kit.request("GET", first).body)
            started = time.perf_counter()
            for _ in range(count):
                key = _key(kit.request("GET", target, [("apiKey", key)]).body)
            seconds = time.perf_counter() - started
    else:
        import httpx

        with httpx.Client(timeout=10.0) as hx:
            key = _key(hx.get(first).content)
            started = time.perf_counter()
            for _ in range(count):
                key = _key(hx.get(target, headers={"apiKey": key}).content)
            seconds = time.perf_counter() - started
    return {"client": client, "requests": count, "seconds": seconds, "rps": count / seconds}


def captured(max_examples: int, seed: int) -> list[Sent]:
    """The requests ``regenkey check-server --max-examples N --seed S`` sends,
    in order (every one the kit's client sent, from any thread), captured in
    memory from a run against a private reference server whose password
    hashing is cheap. The URLs name ``{base}`` for the server's base URL."""
    from conformance.transport import exchange
    from regenkey.cli import main

    sent: list[Sent] = []
    original = exchange.HttpClient.request

    def recording(client: Any, method: str, url: str, headers: Any = (), body: Any = b"") -> Any:
        headers = list(headers)
        if isinstance(body, bytes | bytearray):
            sent.append((method, url, headers, bytes(body)))
            return original(client, method, url, headers, body)
        chunks = [bytes(c) for c in body]
        sent.append((method, url, headers, chunks))
        return original(client, method, url, headers, iter(chunks))

    with reference_server(ACCOUNTS, password_cost=REPLAY_COST) as srv:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            args = ["check-server", "--base-url", srv.url, "--user-id", USER]
            args += ["--tricky-user-id", TRICKY_USER]
            args += ["--max-examples", str(max_examples), "--seed", str(seed)]
            args += ["--report-dir", tmp]
            exchange.HttpClient.request = recording  # type: ignore[method-assign]
            try:
                with contextlib.redirect_stderr(io.StringIO()):
                    main(args)
            finally:
                exchange.HttpClient.request = original  # type: ignore[method-assign]
    base = srv.url
    return [
        (m, u.replace(base, "{base}"), [(n, v.replace(base, "{base}")) for n, v in h], b)
        for m, u, h, b in sent
    ]


def replay(url: str, sent: list[Sent]) -> dict[str, Any]:
    """``sent`` to ``url`` one after the other on the kit's client, nothing judged."""
    from conformance.transport.exchange import ExchangeError, HttpClient

    ready = [
        (m, u.replace("{base}", url), [(n, v.replace("{base}", url)) for n, v in h], b)
        for m, u, h, b in sent
    ]
    errors = 0
    with HttpClient(timeout=10.0) as kit:
        started = time.perf_counter()
        for method, target, headers, body in ready:
            try:
                kit.request(
                    method, target, headers, body if isinstance(body, bytes) else iter(body)
                )
            except ExchangeError:
                errors += 1  # the server's answer is not the point; the request was sent
        seconds = time.perf_counter() - started
    return {
        "requests": len(ready),
        "seconds": seconds,
        "rps": len(ready) / seconds,
        "errors": errors,
    }


def _replay_process(srv: Server, max_examples: int, seed: int) -> dict[str, Any]:
    """One replay in its own process, with the server's hashing seconds during it."""
    command = [sys.executable, "-m", "bench.limit", "replay", srv.url, str(max_examples), str(seed)]
    before = _lines(srv)
    environ = env(REGENKEY_PASSWORD=PASSWORD, REGENKEY_TRICKY_PASSWORD=TRICKY_PASSWORD)
    done = subprocess.run(
        command, env=environ, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the replay failed: {done.stderr[-1500:]}")
    return {**json.loads(done.stdout), "server_hashing_s": _hashing_s(srv, before)}


def _loop_process(url: str, count: int, client: str) -> float:
    command = [
        sys.executable,
        "-m",
        "bench.limit",
        url,
        LOOP_USER,
        LOOP_PASSWORD,
        str(count),
        client,
    ]
    done = subprocess.run(
        command, env=env(), cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {client} loop failed: {done.stderr[-1500:]}")
    return float(json.loads(done.stdout)["rps"])


def _check_rps(run: dict[str, Any]) -> tuple[float, float]:
    requests = run["requests_seen_by_server"]
    return requests / run["internal_s"], requests / run["wall_s"]


def _hashing_s(srv: Server, skip_lines: int) -> float:
    """Seconds the server itself reported for refused logins after line
    ``skip_lines`` of its log: each pays a full password hash (scrypt), on
    purpose, which no apiKey loop pays."""
    lines = srv.log.read_text(encoding="utf-8", errors="replace").splitlines()[skip_lines:]
    total = 0.0
    for line in lines:
        if REFUSED_LOGIN in line and line.endswith("ms"):
            total += float(line.rsplit(" ", 1)[1][:-2]) / 1000
    return total


def _lines(srv: Server) -> int:
    return len(srv.log.read_text(encoding="utf-8", errors="replace").splitlines())


def _measured(srv: Server, size: int, seed: int) -> dict[str, Any]:
    before = _lines(srv)
    run = suite.check_server(srv, size, seed, timeout=CHECK_TIMEOUT_S)
    return {**run, "server_hashing_s": _hashing_s(srv, before)}


def compare(
    sizes: list[int], loop_requests: int, repeats: int, once_from: int = 5000
) -> dict[str, Any]:
    """The two loops and check-server at each of ``sizes``, round after round.

    Sizes from ``once_from`` examples up run in the first round only: at the
    modern password cost 10,000 examples are about 43,000 requests, ten
    minutes with the replay, so ``make bench`` takes one such round."""
    loops: dict[str, list[float]] = {"kit": [], "httpx": []}
    checks: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    replays: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    with reference_server([*ACCOUNTS, (LOOP_USER, LOOP_PASSWORD)]) as srv:
        _loop_process(srv.url, 10, "kit")  # the loop account's first scrypt hash, untimed
        for n in range(repeats):
            for client in loops:
                loops[client].append(_loop_process(srv.url, loop_requests, client))
            for size in sizes if n == 0 else [s for s in sizes if s < once_from]:
                checks[size].append(_measured(srv, size, seed=n + 1))
                replays[size].append(_replay_process(srv, size, seed=n + 1))
    medians = {client: summary(runs, digits=1) for client, runs in loops.items()}
    fastest = max(medians, key=lambda c: medians[c]["median"])
    limit = medians[fastest]["median"]
    rows = []
    for size in sizes:
        own = [_check_rps(r)[0] for r in checks[size]]
        wall = [_check_rps(r)[1] for r in checks[size]]
        hashing = [r["server_hashing_s"] for r in checks[size]]
        # Without the server's own password hashing of refused logins: the kit's side.
        rest = [
            r["requests_seen_by_server"] / max(r["internal_s"] - r["server_hashing_s"], 1e-3)
            for r in checks[size]
        ]
        again = replays[size]
        replayed = [r["rps"] for r in again]
        rows.append(
            {
                "max_examples": size,
                "requests": summary([float(r["requests_seen_by_server"]) for r in checks[size]], 0),
                "rps": summary(own, digits=1),
                "replay": {
                    "requests": summary([float(r["requests"]) for r in again], 0),
                    "rps": summary(replayed, digits=1),
                    "server_hashing_s": summary([r["server_hashing_s"] for r in again], 2),
                    "errors": [r["errors"] for r in again],
                },
                "ratio_vs_replay": round(summary(own)["median"] / summary(replayed)["median"], 3),
                "rps_wall": summary(wall, digits=1),
                "ratio_vs_limit": round(summary(own)["median"] / limit, 3),
                "ratio_vs_limit_wall": round(summary(wall)["median"] / limit, 3),
                "server_hashing_s": summary(hashing, digits=2),
                "rps_without_server_hashing": summary(rest, digits=1),
                "ratio_vs_limit_without_server_hashing": round(summary(rest)["median"] / limit, 3),
                "kit_cpu_s": summary([r["cpu_s"] for r in checks[size]], digits=2),
                "verdicts": [r["verdict"] for r in checks[size]],
            }
        )
    return {
        "loop_requests": loop_requests,
        "loops": medians,
        "limit_client": fastest,
        "limit_rps": limit,
        "check_server": rows,
        "target": 0.5,
        "order": (
            "interleaved: kit loop, httpx loop, then at each size check-server and its replay;"
            f" round after round; from {once_from} examples up in the first round only"
        ),
    }


if __name__ == "__main__":
    if sys.argv[1] == "replay":
        base, size, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        print(json.dumps(replay(base, captured(size, seed))))
    else:
        url, user, password, count, client = sys.argv[1:6]
        print(json.dumps(loop(url, user, password, int(count), client)))
