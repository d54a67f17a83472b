"""Secrets: a canary password and a canary key planted in every kind of run
appear nowhere, in no spelling, not even cut short: not in a file written,
not on stdout or stderr.

Runs: the server suite (`regenkey check-server`) and live mode with a key
file and a recording against a `regenkey serve` process whose account's
password is the canary (its request log is scanned too), `regenkey replay`
of that recording, `regenkey call` (against the server and against a
server that echoes the password back), the client suite (`regenkey
check-client`, with a client that prints every secret it is given), and
`regenkey docs`. Besides the canaries, no whole key of any kind (32 hex
digits) may appear in any output but the key file.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reference_impl.client import regenerate_api_key
from tests.reliability.figures import record
from tests.reliability.hostile import hostile_server
from tests.reliability.process import run_regenkey, server
from tests.reliability.secrets import CANARY_PASSWORD, files_under, key_shaped, leaks

USER = "canary-user"  # the docs run
PYCLIENT = Path(__file__).resolve().parent / "clients" / "pyclient.py"


def _texts(name: str, run: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {f"{name} stdout": run.stdout, f"{name} stderr": run.stderr}


def test_no_canary_in_server_suite_live_mode_replay_call_or_serve_log(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    key_file = tmp_path / "keys" / "current.key"
    # One account per concurrent run, all with the canary password.
    users = {run: f"canary-{run}" for run in ("suite", "live", "call", "stale")}
    with server(tmp_path, [(u, CANARY_PASSWORD) for u in users.values()]) as proc:

        def key_of(user: str) -> str:
            return regenerate_api_key(proc.url, user_id=user, password=CANARY_PASSWORD).api_key

        canary_keys = {run: key_of(user) for run, user in users.items()}
        regenerate_api_key(proc.url, api_key=canary_keys["stale"])  # now a revoked key

        def env(run: str) -> dict[str, str]:
            return {"REGENKEY_PASSWORD": CANARY_PASSWORD, "REGENKEY_API_KEY": canary_keys[run]}

        def check_server(run: str, *extra: str) -> subprocess.CompletedProcess[str]:
            return run_regenkey(
                "check-server",
                "--base-url",
                proc.url,
                "--user-id",
                users[run],
                "--max-examples",
                "3",
                "--report-dir",
                str(out / run),
                *extra,
                env=env(run),
            )

        def echoed() -> subprocess.CompletedProcess[str]:
            with hostile_server("echo") as echo:
                return run_regenkey(
                    "call",
                    "--base-url",
                    echo.url,
                    "--user-id",
                    "u",
                    "--format",
                    "plain",
                    "--key-file",
                    str(tmp_path / "echo.key"),
                    env={"REGENKEY_PASSWORD": CANARY_PASSWORD},
                )

        jobs: dict[str, Callable[[], subprocess.CompletedProcess[str]]] = {
            # no second account: RK-ROT-008 is not judged (issue 15)
            "check-server": lambda: check_server("suite", "--allow-skip", "RK-ROT-008"),
            "check-server --live": lambda: check_server(
                "live",
                "--live",
                "--key-file",
                str(key_file),
                "--max-rotations",
                "100",
                # Budgets wide enough to send every probe (the canaries are the
                # point here); a live run cannot judge RK-PARAM-002 nor RK-ROT-008
                # (no second account) nor RK-ROT-005 (never run live), which
                # --allow-skip accepts rather than INCOMPLETE.
                "--max-bad-logins",
                "100",
                "--allow-skip",
                "RK-PARAM-002,RK-ROT-005,RK-ROT-008",
                "--record",
                str(out / "recording"),
            ),
            "call": lambda: run_regenkey(
                "call",
                "--base-url",
                proc.url,
                "--user-id",
                users["call"],
                "--key-file",
                str(tmp_path / "call.key"),
                env={"REGENKEY_PASSWORD": CANARY_PASSWORD},
            ),
            "call (stale key)": lambda: run_regenkey(
                "call",
                "--base-url",
                proc.url,
                "--key-file",
                str(tmp_path / "stale.key"),
                env={"REGENKEY_API_KEY": canary_keys["stale"]},
            ),
            "call (echo)": echoed,
        }
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            runs = dict(zip(jobs, pool.map(lambda job: job(), jobs.values()), strict=True))
        runs["replay"] = run_regenkey(
            "replay", str(out / "recording"), "--report-dir", str(out / "replay")
        )
    texts: dict[str, str] = {}
    for name, run in runs.items():
        texts |= _texts(name, run)
        assert "Traceback" not in run.stderr, f"{name}: {run.stderr[-2000:]}"
    exits = {name: run.returncode for name, run in runs.items()}
    assert exits == {
        "check-server": 0,
        "check-server --live": 0,
        "call": 0,
        "call (stale key)": 1,
        "call (echo)": 1,
        "replay": 0,
    }, exits
    written = files_under(out, tmp_path / "keys", skip=[key_file])
    written[str(proc.log)] = proc.log_text()
    written |= {
        str(p): p.read_bytes().decode("latin-1") for p in proc.log.parent.glob("regenkey.sqlite3*")
    }
    texts |= written
    found = leaks(texts, [CANARY_PASSWORD, *canary_keys.values()])
    whole_keys = key_shaped({k: v for k, v in texts.items() if "sqlite3" not in k})
    record(
        "secrets_runs",
        {
            "runs": list(exits),
            "files_scanned": len(written),
            "leaks": found,
            "whole_keys_seen": whole_keys,
        },
    )
    assert found == []
    assert whole_keys == []
    newest = key_file.read_text(encoding="ascii").strip()  # the one file meant to hold a key
    assert len(newest) == 32 and newest not in canary_keys.values()
    assert "[REDACTED]" in texts["call (echo) stderr"]


def test_no_canary_in_client_suite(tmp_path: Path) -> None:
    planted = tmp_path / "planted.txt"
    command = " ".join(shlex.quote(p) for p in (sys.executable, str(PYCLIENT), "--leaky"))
    run = run_regenkey(
        "check-client",
        "--command",
        command,
        "--report-dir",
        str(tmp_path / "reports"),
        env={"CANARY_FILE": str(planted), "REGENKEY_PASSWORD": CANARY_PASSWORD},
    )
    assert run.returncode in (0, 1) and "Traceback" not in run.stderr, run.stderr[-2000:]
    secrets = {s for s in planted.read_text(encoding="utf-8").splitlines() if s}
    assert len(secrets) >= 20  # a password or key from every scenario
    texts = _texts("check-client", run) | files_under(tmp_path / "reports")
    found = leaks(texts, [CANARY_PASSWORD, *secrets])
    record("secrets_client_suite", {"planted": len(secrets), "leaks": found})
    assert found == []


def test_no_canary_in_docs(tmp_path: Path) -> None:
    env = {
        "REGENKEY_PASSWORD": CANARY_PASSWORD,
        "REGENKEY_ACCOUNTS": f"{USER}:{CANARY_PASSWORD}",
        "REGENKEY_API_KEY": "c0ffee00c0ffee00c0ffee00c0ffee00",
    }
    run = run_regenkey("docs", "--out", str(tmp_path / "docs"), env=env)
    if run.returncode == 2 and "invalid choice" in run.stderr:
        pytest.skip("`regenkey docs` does not exist")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    texts = _texts("docs", run) | files_under(tmp_path / "docs")
    found = leaks(texts, [CANARY_PASSWORD, env["REGENKEY_API_KEY"]])
    record("secrets_docs", {"files_scanned": len(texts) - 2, "leaks": found})
    assert found == []
