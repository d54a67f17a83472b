"""The kit as an HTTP client of a hostile target, and a live key never lost
(issue 13, items 1, 2, 3, 5, 6).

Hostile servers (tests/reliability/hostile.py) listen on 127.0.0.1; the kit
runs as a real `regenkey` process. Covered: decompression bombs (stacked and
single codings) stay under 150 MiB and end in ERROR; a dripped head and
endless ``100 Continue`` end in ERROR within the timeout; correct but unusual
answers (103 Early Hints, gzip or raw deflate although identity was asked
for) still pass; the environment's proxies are never used; a key that cannot
be saved stops the run at once and is printed once; ``call`` refuses to
rotate a key it has nowhere to put.
"""

from __future__ import annotations

import gzip
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conformance import HttpClient
from reference_impl.client import regenerate_api_key
from regenkey.keyfile import LAST_RESORT
from tests.reliability import hostile
from tests.reliability.figures import record
from tests.reliability.hostile import hostile_server
from tests.reliability.process import COMMAND, server
from tests.reliability.relay import relay, sink
from tests.reliability.secrets import CANARY_PASSWORD

TIMEOUT = 2.0
# seconds from first contact to exit: the one deadline, then writing the reports and
# exiting, which takes up to a second or two on two loaded cores (a per-read deadline
# would never end against a dripping target)
BOUND = TIMEOUT + 2.5
RSS_BOUND_MIB = 150
ENV = {"REGENKEY_PASSWORD": CANARY_PASSWORD}

# Runs a command and writes its peak RSS (KiB) to a file: the wrapper's only
# child is the kit, so RUSAGE_CHILDREN is the kit's own peak.
MEASURE = (
    "import resource, subprocess, sys\n"
    "try:\n"
    "    code = subprocess.run(sys.argv[2:], timeout=50).returncode\n"
    "except subprocess.TimeoutExpired:\n"  # the kit is killed with it, never left behind
    "    code = 124\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code)\n"
)


def _kit(
    tmp: Path, target: hostile.Target, *args: str, env: dict[str, str] | None = None
) -> dict[str, object]:
    """Run a regenkey command under the RSS wrapper: exit, output, peak MiB, seconds."""
    peak_file = tmp / f"peak-{time.monotonic_ns()}"
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(peak_file), *COMMAND, *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, **ENV, **(env or {})},
    )  # fmt: skip
    finished = time.monotonic()
    return {
        "exit": run.returncode,
        "stdout": run.stdout,
        "stderr": run.stderr,
        "peak_mib": round(int(peak_file.read_text()) / 1024, 1),
        "seconds_after_contact": round(finished - (target.first_contact or finished), 2),
        "seconds_from_start": round(finished - started, 2),
    }


def _call(tmp: Path, target: hostile.Target, *extra: str) -> dict[str, object]:
    return _kit(tmp, target, "call", "--base-url", target.url, "--user-id", "u",
                "--timeout", str(TIMEOUT), "--show-key", *extra)  # fmt: skip


def _suite(tmp: Path, target: hostile.Target) -> dict[str, object]:
    return _kit(tmp, target, "check-server", "--base-url", target.url, "--user-id", "u",
                "--timeout", str(TIMEOUT), "--report-dir", str(tmp / "reports"))  # fmt: skip


def _figure(result: dict[str, object]) -> dict[str, object]:
    keys = ("exit", "peak_mib", "seconds_after_contact", "seconds_from_start")
    return {k: result[k] for k in keys}


def _ended_in_error(result: dict[str, object], words: str) -> None:
    out = str(result["stdout"]) + str(result["stderr"])
    assert result["exit"] == 2, out[-2000:]
    assert "Traceback" not in out, out[-2000:]
    assert words in out, out[-2000:]


# --- 1. decompression bombs -------------------------------------------------------------
BOMBS = {
    "stacked": (hostile.stacked_bomb, "stacked content codings (gzip, gzip)"),
    "single": (hostile.single_bomb, "decoded body over 1048576 bytes"),
}


def _bomb(tmp: Path, kind: str, mib: int, command: str) -> dict[str, object]:
    make, words = BOMBS[kind]
    with hostile_server(make(mib)) as target:
        result = _call(tmp, target) if command == "call" else _suite(tmp, target)
    record(f"hostile_bomb_{kind}_{mib}mib_{command}", _figure(result))
    _ended_in_error(result, words)
    assert float(str(result["peak_mib"])) < RSS_BOUND_MIB, result
    assert float(str(result["seconds_after_contact"])) < BOUND, result
    return result


@pytest.mark.parametrize("command", ["call", "check-server"])
@pytest.mark.parametrize("kind", list(BOMBS))
def test_a_decompression_bomb_is_an_error_in_bounded_memory(
    tmp_path: Path, kind: str, command: str
) -> None:
    _bomb(tmp_path, kind, 256, command)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["call", "check-server"])
@pytest.mark.parametrize("kind", list(BOMBS))
def test_a_one_gib_decompression_bomb_is_an_error_in_bounded_memory(
    tmp_path: Path, kind: str, command: str
) -> None:
    _bomb(tmp_path, kind, 1024, command)


def test_the_review_bomb_is_1827_bytes_and_every_request_asks_for_identity() -> None:
    assert len(gzip.compress(hostile.gzip_zeros(1024), 9)) < 2048
    with hostile_server("br") as target, HttpClient(TIMEOUT) as client:
        with pytest.raises(Exception, match="does not decode"):
            client.request("GET", target.url + "/")
    (request,) = target.requests
    assert b"\r\nAccept-Encoding: identity\r\n" in request


# --- 2. one deadline for the whole exchange ----------------------------------------------
STALLING = {"drip-head": "within 2 s", "endless-1xx": "more than 10 interim (1xx) responses"}


@pytest.mark.parametrize("command", ["call", "check-server"])
@pytest.mark.parametrize("name", list(STALLING))
def test_a_stalling_head_ends_in_error_within_the_timeout(
    tmp_path: Path, name: str, command: str
) -> None:
    with hostile_server(name) as target:
        result = _call(tmp_path, target) if command == "call" else _suite(tmp_path, target)
    record(f"hostile_{name}_{command}", _figure(result))
    _ended_in_error(result, STALLING[name])
    assert float(str(result["seconds_after_contact"])) < BOUND, result


@pytest.mark.parametrize("name", ["early-hints", "gzip-once", "deflate-raw"])
@pytest.mark.parametrize("fmt", ["json", "xml", "plain"])
def test_correct_but_unusual_answers_are_read(tmp_path: Path, name: str, fmt: str) -> None:
    with hostile_server(name) as target:
        result = _call(tmp_path, target, "--format", fmt)
    assert result["exit"] == 0, result
    assert "status=success apiKey=" in str(result["stdout"]), result


def test_the_async_client_bounds_a_dripped_head() -> None:
    import asyncio

    from reference_impl.client import ClientTimeout, TransportError, aregenerate_api_key

    for name, error in (("drip-head", ClientTimeout), ("endless-1xx", TransportError)):
        with hostile_server(name) as target:
            started = time.monotonic()
            with pytest.raises(error):
                asyncio.run(aregenerate_api_key(target.url, api_key="0" * 32, timeout=1))
            assert time.monotonic() - started < 2.5, name


# --- 3. no proxy from the environment ----------------------------------------------------
PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def test_the_environment_proxy_is_never_used_for_loopback(tmp_path: Path) -> None:
    user, password = "proxy-user", "Proxy-pass-123"
    with sink() as fake, server(tmp_path, [(user, password)], memory=True) as proc:
        env = dict.fromkeys(PROXY_NAMES, fake.url) | {"REGENKEY_PASSWORD": password}
        env["NO_PROXY"] = env["no_proxy"] = ""
        call = subprocess.run(
            [*COMMAND, "call", "--base-url", proc.url, "--user-id", user, "--show-key"],
            capture_output=True, text=True, timeout=60, env={**os.environ, **env},
        )  # fmt: skip
        suite = subprocess.run(
            [*COMMAND, "check-server", "--base-url", proc.url, "--user-id", user,
             "--max-examples", "2", "--allow-skip", "all",
             "--report-dir", str(tmp_path / "reports")],
            capture_output=True, text=True, timeout=120, env={**os.environ, **env},
        )  # fmt: skip
        with HttpClient(TIMEOUT) as client:  # the library: no proxy unless passed
            assert client.request("GET", proc.url + "/openapi.yaml").status == 200
    assert call.returncode == 0, call.stderr
    assert suite.returncode == 0 and "Verdict: PASS" in suite.stdout, suite.stdout[-2000:]
    assert fake.connections == 0 and fake.received == []


def test_an_explicit_proxy_is_used_for_a_live_target_and_announced(tmp_path: Path) -> None:
    def proxy(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
        body = b"status=success | apiKey=" + b"a" * 32 + b" | statusCode=900 | reason=success"
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    with hostile_server(proxy) as fake:
        live = "http://sandbox.invalid:8080"  # never resolved: the proxy is the only hop
        refused = _kit(tmp_path, fake, "call", "--base-url", live, "--user-id", "u",
                       "--show-key", "--proxy", fake.url)  # fmt: skip
        assert refused["exit"] == 2 and "--live" in str(refused["stderr"])
        assert fake.requests == []
        result = _kit(tmp_path, fake, "call", "--base-url", live, "--user-id", "u", "--live",
                      "--show-key", "--format", "plain", "--proxy", fake.url)  # fmt: skip
    assert result["exit"] == 0, result
    assert f"go through the proxy {fake.url}" in str(result["stderr"])
    (request,) = fake.requests
    assert request.startswith(b"POST http://sandbox.invalid:8080/SMSApi/rest/regenerateAPIKey ")


# --- 5. a key that cannot be saved stops a live run at once ------------------------------
USER, PASSWORD = "keyfile-user", "Keyfile-pass-123"


def test_live_run_stops_at_the_first_key_it_cannot_save(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "live.key"
    key_file.parent.mkdir()

    def break_key_file() -> None:  # after the preflight, before the first request
        key_file.mkdir()
        (key_file / "occupied").write_text("x")

    with (
        server(tmp_path, [(USER, PASSWORD)], memory=True) as proc,
        relay(proc.host, proc.port, break_key_file) as seen,
    ):
        run = subprocess.run(
            [*COMMAND, "check-server", "--base-url", seen.url, "--user-id", USER, "--live",
             "--key-file", str(key_file), "--max-rotations", "5", "--max-examples", "2",
             "--report-dir", str(tmp_path / "reports")],
            capture_output=True, text=True, timeout=180,
            env={**os.environ, "REGENKEY_PASSWORD": PASSWORD},
        )  # fmt: skip
        out = run.stdout + run.stderr
        assert run.returncode == 2, out[-3000:]
        assert "Traceback" not in out
        assert len(seen.keys) == 1, seen.keys  # exactly one rotation
        assert seen.requests_after_first_key() == 0, "a request went out after the lost key"
        (key,) = seen.keys
        assert f"{LAST_RESORT}: {key}" in run.stderr
        assert out.count(key) == 1, "the key is printed once"
        assert regenerate_api_key(proc.url, api_key=key).api_key != key  # it works


@pytest.mark.parametrize("command", ["check-server", "call"])
def test_an_unwritable_key_file_is_refused_before_anything_is_sent(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    key_file = tmp_path / "a-file" / "live.key"
    if command == "check-server":
        extra = ["--live", "--max-rotations", "5", "--report-dir", str(tmp_path / "r")]
    else:
        extra = ["--show-key"]
    with (
        server(tmp_path, [(USER, PASSWORD)], memory=True) as proc,
        relay(proc.host, proc.port) as seen,
    ):
        run = subprocess.run(
            [*COMMAND, command, "--base-url", seen.url, "--user-id", USER,
             "--key-file", str(key_file), *extra],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "REGENKEY_PASSWORD": PASSWORD},
        )  # fmt: skip
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr
    assert "cannot be written" in run.stderr and "nothing was sent" in run.stderr
    assert seen.events == []


# --- 6. `regenkey call` never loses the key it rotates -----------------------------------
def test_call_refuses_to_rotate_a_key_it_has_nowhere_to_put(tmp_path: Path) -> None:
    with hostile_server("hang") as target:
        run = subprocess.run(
            [*COMMAND, "call", "--base-url", target.url, "--api-key", "0" * 32],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 2 and "--key-file" in run.stderr and "--show-key" in run.stderr
        remote = subprocess.run(
            [*COMMAND, "call", "--base-url", "http://sandbox.invalid", "--api-key", "0" * 32,
             "--show-key"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert remote.returncode == 2 and "--live" in remote.stderr
        assert target.first_contact is None


def test_call_saves_the_new_key_before_printing_it_masked(tmp_path: Path) -> None:
    key_file = tmp_path / "call.key"
    with server(tmp_path, [(USER, PASSWORD)], memory=True) as proc:
        first = regenerate_api_key(proc.url, user_id=USER, password=PASSWORD).api_key
        run = subprocess.run(
            [*COMMAND, "call", "--api-key", first, "--key-file", str(key_file)],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "REGENKEY_BASE_URL": proc.url},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        saved = key_file.read_text().strip()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert saved not in run.stdout and "…" in run.stdout and str(key_file) in run.stdout
        assert len(saved) == 32 and saved != first
        assert regenerate_api_key(proc.url, api_key=saved).api_key != saved
