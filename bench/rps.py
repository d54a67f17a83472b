"""Requests per second over loopback: the reference server and its peers.

One load generator (:mod:`bench.loadgen`), the same number of keep-alive
connections, the same duration. All servers run at once and are loaded in
turn, round after round (reference, bare, Prism, again), so that the
machine's drifting load weighs on each alike:

* the reference server (``regenkey serve --memory``), regenerating: a *key
  chain* per connection (each request presents the key the last one issued,
  in the ``apiKey`` header) and, separately, userId/password on every request
  (the server hashes passwords with scrypt at its modern cost, but verifies a
  password it verified before through its cache of verified passwords, so
  only each account's first login pays the hash);
* a bare Starlette endpoint returning a constant, under the same uvicorn
  set-up (:mod:`bench.peers`);
* Prism's mock server serving ``spec/openapi.yaml`` (:mod:`bench.peers`).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

from bench.common import env, free_port, reference_server, server, summary
from bench.loadgen import Plan, credentials_path, get, run_load
from bench.peers import prism_binary, prism_command, why_no_prism


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = summary([r["rps"] for r in runs], digits=1)
    for name in ("requests", "good", "bad", "errors"):
        out[name] = [r[name] for r in runs]
    return out


def _accounts(connections: int) -> list[tuple[str, str]]:
    return [(f"bench{n}", f"bench-Pa55-{n}") for n in range(connections)]


def _chains(port: int, accounts: list[tuple[str, str]]) -> list[Plan]:
    host = f"127.0.0.1:{port}"
    return [Plan(host, get(credentials_path(u, p), host), chain=True) for u, p in accounts]


def _constant(port: int, connections: int) -> list[Plan]:
    host = f"127.0.0.1:{port}"
    return [Plan(host, get(credentials_path("bench", "x"), host))] * connections


def compare(connections: int, seconds: float, repeats: int, warmup: float = 0.5,
            with_prism: bool = True) -> dict[str, Any]:  # fmt: skip
    """All servers up at once (an idle one costs nothing), their runs taken in
    turn, round after round: so that the machine's load, which drifts over
    minutes here, weighs on every target alike."""
    accounts = _accounts(connections)
    runs: dict[str, list[dict[str, Any]]] = {
        "chain": [],
        "credentials": [],
        "bare": [],
        "prism": [],
    }
    with ExitStack() as stack:
        ref = stack.enter_context(reference_server(accounts))
        base = stack.enter_context(server([sys.executable, "-m", "bench.peers"], env()))
        mock = None
        if with_prism and prism_binary() is not None:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            mock = stack.enter_context(server(prism_command(port), env(), url=url, timeout=120))
        # Each account's first login pays the server's scrypt hash (modern
        # cost, about 0.2 s): once, before any timed run, as in a long-lived server.
        host = f"127.0.0.1:{ref.port}"
        warm = [Plan(host, get(credentials_path(u, pw), host)) for u, pw in accounts]
        run_load(ref.port, warm, 1.5, 0.0)
        for _ in range(repeats):
            runs["chain"].append(run_load(ref.port, _chains(ref.port, accounts), seconds, warmup))
            # The same requests and the same client work as the reference
            # server's: the constant answer carries a key, which the chain
            # presents next time (the endpoint ignores it).
            runs["bare"].append(run_load(base.port, _chains(base.port, accounts), seconds, warmup))
            if mock is not None:
                runs["prism"].append(run_load(mock.port, _constant(mock.port, connections),
                                              seconds, warmup))  # fmt: skip
        for _ in range(repeats):
            # The same right password each time: the first pays scrypt, the rest
            # the verified-password cache. Shown for information, no target.
            host = f"127.0.0.1:{ref.port}"
            plans = [Plan(host, get(credentials_path(u, pw), host)) for u, pw in accounts]
            runs["credentials"].append(run_load(ref.port, plans, seconds, warmup))
        prism_ready = round(mock.ready_s, 3) if mock is not None else None
    chain = _summarise(runs["chain"])
    credentials = _summarise(runs["credentials"])
    bare = _summarise(runs["bare"])
    result: dict[str, Any] = {
        "load_generator": "bench/loadgen.py (asyncio, closed loop, keep-alive)",
        "connections": connections,
        "seconds_per_run": seconds,
        "order": "interleaved: reference, bare, Prism; round after round",
        "reference": {"key_chain": chain, "credentials": credentials},
        "bare_starlette": bare,
        "prism": {"skipped": why_no_prism(with_prism)},
        "ratio_vs_bare": chain["median"] / bare["median"],
        "ratio_vs_bare_credentials": credentials["median"] / bare["median"],
        "target_vs_bare": 0.7,
        "target_vs_prism": 2.0,
    }
    if runs["prism"]:
        result["prism"] = {**_summarise(runs["prism"]), "ready_s": prism_ready}
        result["ratio_vs_prism"] = chain["median"] / result["prism"]["median"]
        result["ratio_vs_prism_credentials"] = credentials["median"] / result["prism"]["median"]
    return result
