"""Requests per second over loopback: the reference server and its peers.

One load generator (:mod:`bench.loadgen`), the same number of keep-alive
connections, the same duration, one server process at a time:

* the reference server (``regenkey serve --memory``), regenerating: a *key
  chain* per connection (each request presents the key the last one issued,
  in the ``apiKey`` header) and, separately, userId/password on every request
  (each then pays the store's PBKDF2 password hash: 10,000 iterations);
* a bare Starlette endpoint returning a constant, under the same uvicorn
  set-up (:mod:`bench.peers`);
* Prism's mock server serving ``spec/openapi.yaml`` (:mod:`bench.peers`).
"""

from __future__ import annotations

import sys
from typing import Any

from bench.common import env, free_port, reference_server, server, summary
from bench.loadgen import Plan, credentials_path, get, run_load
from bench.peers import prism_binary, prism_command, why_no_prism


def _measure(port: int, make_plans: Any, seconds: float, repeats: int,
             warmup: float) -> dict[str, Any]:  # fmt: skip
    runs = [run_load(port, make_plans(), seconds, warmup) for _ in range(repeats)]
    out = summary([r["rps"] for r in runs], digits=1)
    out["requests"] = [r["requests"] for r in runs]
    out["good"] = [r["good"] for r in runs]
    out["bad"] = [r["bad"] for r in runs]
    out["errors"] = [r["errors"] for r in runs]
    return out


def reference(connections: int, seconds: float, repeats: int, warmup: float) -> dict[str, Any]:
    accounts = [(f"bench{n}", f"bench-Pa55-{n}") for n in range(connections)]
    with reference_server(accounts) as srv:
        host = f"127.0.0.1:{srv.port}"

        def chains() -> list[Plan]:
            return [Plan(host, get(credentials_path(u, p), host), chain=True) for u, p in accounts]

        def credentials() -> list[Plan]:
            return [Plan(host, get(credentials_path(u, p), host)) for u, p in accounts]

        return {
            "key_chain": _measure(srv.port, chains, seconds, repeats, warmup),
            "credentials": _measure(srv.port, credentials, seconds, repeats, warmup),
        }


def bare(connections: int, seconds: float, repeats: int, warmup: float) -> dict[str, Any]:
    with server([sys.executable, "-m", "bench.peers"], env()) as srv:
        host = f"127.0.0.1:{srv.port}"
        request = get(credentials_path("bench", "x"), host)
        plans = [Plan(host, request)] * connections
        return _measure(srv.port, lambda: plans, seconds, repeats, warmup)


def prism(connections: int, seconds: float, repeats: int, warmup: float) -> dict[str, Any] | None:
    if prism_binary() is None:
        return None
    port = free_port()
    with server(prism_command(port), env(), url=f"http://127.0.0.1:{port}", timeout=120) as srv:
        host = f"127.0.0.1:{port}"
        request = get(credentials_path("bench", "x"), host)
        plans = [Plan(host, request)] * connections
        out = _measure(port, lambda: plans, seconds, repeats, warmup)
        out["ready_s"] = round(srv.ready_s, 3)
        return out


def compare(connections: int, seconds: float, repeats: int, warmup: float = 0.5,
            with_prism: bool = True) -> dict[str, Any]:  # fmt: skip
    ref = reference(connections, seconds, repeats, warmup)
    base = bare(connections, seconds, repeats, warmup)
    mock = prism(connections, seconds, repeats, warmup) if with_prism else None
    chain = ref["key_chain"]["median"]
    result: dict[str, Any] = {
        "load_generator": "bench/loadgen.py (asyncio, closed loop, keep-alive)",
        "connections": connections,
        "seconds_per_run": seconds,
        "reference": ref,
        "bare_starlette": base,
        "prism": mock if mock is not None else {"skipped": why_no_prism(with_prism)},
        "ratio_vs_bare": chain / base["median"],
        "ratio_vs_bare_credentials": ref["credentials"]["median"] / base["median"],
        "target_vs_bare": 0.7,
        "target_vs_prism": 2.0,
    }
    if mock is not None:
        result["ratio_vs_prism"] = chain / mock["median"]
        result["ratio_vs_prism_credentials"] = ref["credentials"]["median"] / mock["median"]
    return result
