"""The kit against hostile targets (tests/reliability/hostile.py): servers
that hang, reset, close, send garbage, endless headers or bodies, drip a
byte at a time, invalid UTF-8, a 5xx, or echo the password; and clients
that print or send without end. Each run ends in ERROR or FAIL with a clear
message, bounded in time (--timeout 2), never a traceback, exit 1 or 2.
"""

from __future__ import annotations

import asyncio
import json
import resource
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reference_impl.client import ClientTimeout, TransportError, aregenerate_api_key
from tests.reliability.figures import record
from tests.reliability.hostile import Target, hostile_server
from tests.reliability.process import run_regenkey
from tests.reliability.secrets import CANARY_PASSWORD, files_under, leaks

TIMEOUT = 2.0
ENV = {"REGENKEY_PASSWORD": CANARY_PASSWORD}

# behaviour -> the exit code: 2 the target broke (ERROR), 1 it answered wrongly (FAIL)
CALL_EXPECTED = {
    "hang": 2,
    "reset": 2,
    "close": 2,
    "garbage": 2,
    "endless-headers": 2,
    "endless-body": 2,
    "drip": 2,
    "invalid-utf8": 2,
    "5xx": 2,
    "echo": 1,
    "echo-malformed": 2,
    "echo-as-key": 2,
}
CALL_FAST = ("hang", "reset", "endless-body", "drip", "invalid-utf8", "echo")
SUITE_EXPECTED = {
    "reset": 2,
    "close": 2,
    "garbage": 2,
    "endless-headers": 2,
    "invalid-utf8": 1,
    "5xx": 1,
    "echo-malformed": 1,
}
SUITE_FAST = ("reset", "endless-headers", "invalid-utf8", "5xx")
STALLING = ("hang", "drip", "endless-body")


def _since_contact(target: Target, finished: float) -> float:
    """Seconds from the kit's first connection to its exit (its start-up excluded)."""
    return round(finished - (target.first_contact or finished), 2)


def _call(name: str) -> dict[str, object]:
    with hostile_server(name) as target:
        run = run_regenkey(
            "call",
            "--base-url",
            target.url,
            "--user-id",
            "u",
            "--timeout",
            str(TIMEOUT),
            "--show-key",
            env=ENV,
            timeout=60,
        )
        seconds = _since_contact(target, time.monotonic())
    return {
        "exit": run.returncode,
        "seconds": seconds,
        "stderr": run.stderr.strip(),
        "stdout": run.stdout.strip(),
    }


def _calls(names: tuple[str, ...] | list[str], key: str) -> None:
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = dict(zip(names, pool.map(_call, names), strict=True))
    record(
        key,
        {
            n: {
                "exit": r["exit"],
                "seconds_after_contact": r["seconds"],
                "message": str(r["stderr"])[:200],
            }
            for n, r in results.items()
        },
    )
    for name, result in results.items():
        stderr = str(result["stderr"])
        assert result["exit"] == CALL_EXPECTED[name], (name, result)
        assert "Traceback" not in stderr, (name, stderr)
        assert stderr.startswith(("regenkey call: ", "error: statusCode=")), (name, stderr)
        # the kit's client (conformance/transport/exchange.py) bounds the whole exchange
        assert float(str(result["seconds"])) < 2 * TIMEOUT + 1, (name, result)
        assert not leaks({name: stderr + str(result["stdout"])}, [CANARY_PASSWORD]), name


def test_call_ends_cleanly_against_hostile_servers() -> None:
    _calls(CALL_FAST, "hostile_call_fast")


@pytest.mark.slow
def test_call_ends_cleanly_against_every_hostile_server() -> None:
    _calls(list(CALL_EXPECTED), "hostile_call")


def _suite(name: str, reports: Path) -> dict[str, object]:
    with hostile_server(name) as target:
        try:
            run = run_regenkey(
                "check-server",
                "--base-url",
                target.url,
                "--user-id",
                "u",
                "--timeout",
                str(TIMEOUT),
                "--report-dir",
                str(reports),
                env=ENV,
                timeout=40,
            )
        except subprocess.TimeoutExpired:
            return {"exit": None, "seconds": _since_contact(target, time.monotonic())}
        seconds = _since_contact(target, time.monotonic())
    statuses = [
        r["status"] for r in json.loads((reports / "report.json").read_text())["requirements"]
    ]
    texts = {"stdout": run.stdout, "stderr": run.stderr} | files_under(reports)
    return {
        "exit": run.returncode,
        "seconds": seconds,
        "stdout": run.stdout,
        "stderr": run.stderr,
        "statuses": statuses,
        "leaks": leaks(texts, [CANARY_PASSWORD]),
    }


def _check_suite_result(name: str, result: dict[str, object], expected: int) -> None:
    stdout, stderr = str(result["stdout"]), str(result["stderr"])
    statuses = result["statuses"]
    assert isinstance(statuses, list)
    assert result["exit"] == expected, (name, stdout[-1500:])
    assert "Traceback" not in stderr, (name, stderr[-1500:])
    if expected == 2:  # the target broke: ERROR, never a failure the target did not earn
        assert "fail" not in statuses and "error" in statuses, (name, statuses)
        # the message names the target and what went wrong with it
        assert any(
            line.lstrip().startswith("ERROR") and "http://127.0.0.1:" in line
            for line in stdout.splitlines()
        ), (name, stdout[-1500:])
    else:
        assert "fail" in statuses and "RK-" in stdout, (name, stdout[-1500:])


def _suites(names: tuple[str, ...] | list[str], tmp_path: Path, key: str) -> None:
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = dict(zip(names, pool.map(lambda n: _suite(n, tmp_path / n), names), strict=True))
    record(
        key,
        {n: {"exit": r["exit"], "seconds_after_contact": r["seconds"]} for n, r in results.items()},
    )
    for name, result in results.items():
        _check_suite_result(name, result, SUITE_EXPECTED[name])
        assert result["leaks"] == [], (name, result["leaks"])


def test_check_server_ends_cleanly_against_hostile_servers(tmp_path: Path) -> None:
    _suites(SUITE_FAST, tmp_path, "hostile_check_server_fast")


@pytest.mark.slow
def test_check_server_ends_cleanly_against_every_hostile_server(tmp_path: Path) -> None:
    _suites(list(SUITE_EXPECTED), tmp_path, "hostile_check_server")


@pytest.mark.slow
@pytest.mark.parametrize("name", STALLING)
def test_check_server_ends_within_its_timeout_against_stalling_servers(
    tmp_path: Path, name: str
) -> None:
    result = _suite(name, tmp_path)
    record(
        f"hostile_check_server_{name}",
        {"exit": result["exit"], "seconds_after_contact": result["seconds"]},
    )
    assert result["exit"] is not None, f"{name}: still running after 40 s"
    _check_suite_result(name, result, 2)
    # a few checks' worth of the timeout, not one per check
    assert float(str(result["seconds"])) < 5 * TIMEOUT


@pytest.mark.slow
@pytest.mark.parametrize("name", ["echo", "echo-as-key"])
def test_check_server_never_repeats_an_echoed_password(tmp_path: Path, name: str) -> None:
    result = _suite(name, tmp_path)
    assert result["exit"] == 1
    assert result["leaks"] == []


ENDLESS_BODY = """import os, socket, time
from urllib.parse import urlsplit
u = urlsplit(os.environ["REGENKEY_BASE_URL"])
s = socket.create_connection((u.hostname, u.port))
s.sendall(b"POST /SMSApi/rest/regenerateAPIKey HTTP/1.1\\r\\nHost: x\\r\\n"
          b"Transfer-Encoding: chunked\\r\\n\\r\\n")
end = time.monotonic() + 60
while time.monotonic() < end:
    s.sendall(b"10000\\r\\n" + b"a" * 0x10000 + b"\\r\\n")
"""


def _check_client(command: str, reports: Path, timeout: float) -> dict[str, object]:
    started = time.monotonic()
    run = run_regenkey(
        "check-client",
        "--command",
        command,
        "--timeout",
        str(timeout),
        "--report-dir",
        str(reports),
        timeout=300,
    )
    return {
        "exit": run.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "stdout": run.stdout,
        "stderr": run.stderr,
    }


def _peak_rss_mib_of_children() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def test_check_client_survives_a_client_that_prints_without_end(tmp_path: Path) -> None:
    result = _check_client("yes", tmp_path, timeout=5)
    record("hostile_client_output", {"exit": result["exit"], "seconds": result["seconds"]})
    assert result["exit"] == 2 and "Traceback" not in str(result["stderr"])
    assert "printed more than 1048576 bytes on stdout" in str(result["stdout"])
    # ~93 scenarios, each stopped at once; had each run to its 5 s timeout, the
    # run would take over 100 s
    assert float(str(result["seconds"])) < 45


@pytest.mark.slow
def test_check_client_survives_a_client_that_sends_without_end(tmp_path: Path) -> None:
    script = tmp_path / "endless.py"
    script.write_text(ENDLESS_BODY, encoding="utf-8")
    command = " ".join(shlex.quote(p) for p in (sys.executable, str(script)))
    result = _check_client(command, tmp_path / "reports", timeout=1)
    peak = _peak_rss_mib_of_children()
    record(
        "hostile_client_body",
        {
            "exit": result["exit"],
            "seconds": result["seconds"],
            "peak_rss_mib_of_any_child": round(peak, 1),
        },
    )
    assert result["exit"] == 2 and "Traceback" not in str(result["stderr"])
    assert "did not finish within 1 s" in str(result["stdout"])
    assert peak < 500, f"a child process peaked at {peak:.0f} MiB"


@pytest.mark.parametrize(
    ("name", "error"), [("drip", ClientTimeout), ("endless-body", TransportError)]
)
def test_async_reference_client_bounds_the_whole_exchange(
    name: str, error: type[Exception]
) -> None:
    with hostile_server(name) as target:
        started = time.monotonic()
        with pytest.raises(error):
            asyncio.run(aregenerate_api_key(target.url, api_key="0" * 32, timeout=1))
        assert time.monotonic() - started < 1.5
