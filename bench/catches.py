"""What each tool catches: check-server and schemathesis against every broken server.

The speed comparison (:mod:`bench.suite`) is only fair if the faster tool
loses nothing in what it finds. This section runs both tools, with the same
set-up as the speed comparison, against each deliberately broken server of
``tests/servers/broken.py`` (the reference app with one fault each, one per
server MUST) and against the correct reference app, and records which
servers each one flags.

A server is *flagged* by check-server when it exits 1 (a MUST failed), and
by schemathesis when it reports an issue (exit code not 0). Both run as
their own processes against the same in-process server (a fresh store each
time, so that neither sees the other's rotations).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bench.common import BIN, ROOT, env, measure
from bench.peers import schemathesis_env
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts, RacyStore

PASSWORD = "Catch-Pa55word"  # noqa: S105 (a throwaway account of an in-process server)
# A second account whose password needs URL-encoding, for RK-PARAM-002
# (check-server --tricky-user-id; schemathesis has no use for it).
TRICKY = "Tricky pa&ss=wörd+1"


def _store(server: str) -> MemoryStore:
    # The racy server's fault is in its store (tests/test_broken_servers.py does the same).
    store = RacyStore() if server == "racy-rotation" else MemoryStore()
    store.add_account(PLAIN_USER, PASSWORD)
    store.add_account(TRICKY_USER, TRICKY)
    return store


def _check_server(url: str, max_examples: int, api_key: str | None = None) -> dict[str, Any]:
    """``--strict``, as tests/test_broken_servers.py judges: a broken SHOULD
    (NON-STRICT) flags its server too; ``api_key`` for a server that refuses
    the credentials in every form (without a key that is the user's mistake)."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(BIN / "regenkey"), "check-server", "--base-url", url,
                   "--user-id", PLAIN_USER, "--tricky-user-id", TRICKY_USER,
                   "--max-examples", str(max_examples), "--seed", "1", "--strict",
                   "--report-dir", tmp]  # fmt: skip
        secrets = env(REGENKEY_PASSWORD=PASSWORD, REGENKEY_TRICKY_PASSWORD=TRICKY)
        if api_key is not None:
            secrets["REGENKEY_API_KEY"] = api_key
        run = measure(command, secrets, timeout=600)
        report = json.loads((Path(tmp) / "report.json").read_text(encoding="utf-8"))
    failed = sorted(
        r["id"] for r in report["requirements"] if r["status"] in ("fail", "non-strict")
    )
    return {"flagged": run.returncode == 1, "exit_code": run.returncode,
            "failed_ids": failed, "seconds": round(run.seconds, 2)}  # fmt: skip


def _schemathesis(url: str, max_examples: int) -> dict[str, Any]:
    command = [
        str(BIN / "schemathesis"), "run", str(ROOT / "spec" / "openapi.yaml"), "--url", url,
        "--max-examples", str(max_examples), "--seed", "1", "--generation-database", "none",
        "--exclude-checks", "negative_data_rejection", "--no-color",
    ]  # fmt: skip
    hooks = env(**schemathesis_env(), BENCH_USER_ID=PLAIN_USER, BENCH_PASSWORD=PASSWORD)
    run = measure(command, hooks, timeout=600)
    return {"flagged": run.returncode != 0, "exit_code": run.returncode,
            "seconds": round(run.seconds, 2)}  # fmt: skip


def compare(kit_examples: int, peer_examples: int, limit: int | None = None) -> dict[str, Any]:
    """Both tools against the correct app and each broken server (the first
    ``limit`` of them, for a quick pass)."""
    accounts = Accounts(PASSWORD, TRICKY)
    targets: list[tuple[str, list[str], Any, bool]] = [("reference (correct)", [], None, False)]
    targets += [(s.name, sorted(s.fails), s.make, s.key_given) for s in BROKEN[:limit]]
    rows = []
    for name, fails, make, key_given in targets:
        row: dict[str, Any] = {"server": name, "breaks": fails}
        for tool in ("check_server", "schemathesis"):
            store = _store(name)
            api_key = store.rotate(PLAIN_USER) if key_given else None
            app = build_app(store) if make is None else make(store, accounts)
            with serving(app) as url:
                if tool == "check_server":
                    row[tool] = _check_server(url, kit_examples, api_key)
                else:
                    row[tool] = _schemathesis(url, peer_examples)
        rows.append(row)
    broken = rows[1:]
    return {
        "kit_max_examples": kit_examples,
        "peer_max_examples": peer_examples,
        "servers": rows,
        "broken_servers": len(broken),
        "check_server_flagged": sum(r["check_server"]["flagged"] for r in broken),
        "schemathesis_flagged": sum(r["schemathesis"]["flagged"] for r in broken),
        "flagged_by_schemathesis_only": [
            r["server"]
            for r in broken
            if r["schemathesis"]["flagged"] and not r["check_server"]["flagged"]
        ],
        "correct_server_passes": {
            t: not rows[0][t]["flagged"] for t in ("check_server", "schemathesis")
        },
    }
