"""`regenkey serve` against a hostile client (issue 13, items 11 to 15), as a
real process on 127.0.0.1: idle and drip-fed connections, a whole oversized
head in one write, NUL-padded passwords, a log nobody reads, a password cost
that is modern by default. Each test is bounded in count and time; the heavy
slowloris run is marked slow (``make soak``)."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tests.reliability.figures import record
from tests.reliability.raw import Connection, http_request

PATH = "/SMSApi/rest/regenerateAPIKey"
USER, PASSWORD = "hardening-user", "Hardening-pa55"
READY = "regenkey reference server listening on "
ATTACKERS = 300
LEGIT_S = 1.0


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    stderr: IO[bytes] | None  # the pipe, when the test asked for one


@contextmanager
def regenkey_serve(
    tmp: Path, *args: str, pipe: bool = False, nofile: int | None = None
) -> Iterator[Served]:
    """`regenkey serve --memory --port 0` with one account; stderr to a file, or
    to a pipe the test reads only up to the ready line (``pipe``)."""
    env = {**os.environ, "REGENKEY_ACCOUNTS": f"{USER}:{PASSWORD}"}

    def limit_files() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    log = tmp / "serve.log"
    with ExitStack() as stack:
        sink = stack.enter_context(open(log, "wb")) if not pipe else subprocess.PIPE
        process = subprocess.Popen(
            [sys.executable, "-m", "regenkey.cli", "serve", "--memory", "--host", "127.0.0.1",
             "--port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sink, env=env,
            preexec_fn=limit_files,
        )  # fmt: skip
    try:
        port = _ready_port(process, log, pipe)
        yield Served(process, port, process.stderr if pipe else None)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def _ready_port(process: subprocess.Popen[bytes], log: Path, pipe: bool) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if pipe:
            assert process.stderr is not None
            text = process.stderr.readline().decode("utf-8", "replace")
        else:
            text = log.read_text(encoding="utf-8", errors="replace")
        if READY in text:
            return int(text.split(READY, 1)[1].split()[0].rsplit(":", 1)[1])
        if process.poll() is not None:
            break
        if not pipe:
            time.sleep(0.02)
    process.kill()
    process.wait(timeout=10)
    raise RuntimeError(f"regenkey serve did not start: {log.read_text(errors='replace')[-800:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server (default settings) for the tests that need nothing special."""
    with regenkey_serve(tmp_path_factory.mktemp("shared")) as server:
        yield server


def _regenerate(port: int, timeout: float = 5.0) -> float:
    """One userId/password regeneration over a fresh connection; its seconds."""
    started = time.monotonic()
    conn = Connection("127.0.0.1", port, timeout=timeout)
    try:
        query = f"{PATH}?userId={USER}&password={PASSWORD}&format=json"
        response = conn.request(http_request("GET", query))
    finally:
        conn.close()
    assert response.status == 200 and b'"success"' in response.body, response.body[:200]
    return time.monotonic() - started


def _closed_within(sock: socket.socket, seconds: float, drip: bytes = b"") -> float | None:
    """Seconds until the server closes ``sock`` (None: still open after ``seconds``),
    sending one byte of ``drip`` every 0.2 s meanwhile."""
    started = time.monotonic()
    for byte in (drip[i : i + 1] for i in range(len(drip) or 10**6)):
        if time.monotonic() - started > seconds:
            return None
        with suppress(OSError):
            if byte:
                sock.sendall(byte)
        sock.settimeout(0.2)
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    return None


# --- item 12: a credential holding NUL ------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes",
    [
        http_request("GET", f"{PATH}?userId={USER}&password={PASSWORD}%00%00&format=json"),
        http_request(
            "POST",
            PATH,
            [("Content-Type", "application/x-www-form-urlencoded")],
            f"userId={USER}&password={PASSWORD}%00&format=json".encode(),
        ),
        http_request("GET", f"{PATH}?userId={USER}%00&password={PASSWORD}&format=json"),
    ],
    ids=["query-password", "form-password", "query-user"],
)
def test_a_credential_padded_with_nul_is_refused_as_malformed(
    served: Served, request_bytes: bytes
) -> None:
    conn = Connection("127.0.0.1", served.port, timeout=10)
    try:
        response = conn.request(request_bytes)
    finally:
        conn.close()
    assert response.status == 200  # an error envelope, like every other refusal
    assert b'"error"' in response.body and b'"400"' in response.body, response.body
    assert b"apiKey" not in response.body
    assert _regenerate(served.port) < 5  # the right password still works


# --- item 13: the head limit on every read -------------------------------------------


@pytest.mark.parametrize("size", [20_000, 60_000, 100_000])
def test_a_whole_oversized_head_in_one_write_gets_431(served: Served, size: int) -> None:
    head = (
        f"GET {PATH}?userId={USER}&password={PASSWORD} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-Big: {'h' * size}\r\n\r\n"
    ).encode()
    conn = Connection("127.0.0.1", served.port, timeout=5)
    try:
        response = conn.request(head)
    finally:
        conn.close()
    assert response.status == 431, (response.status, response.body[:200])
    assert b"statusCode=431" in response.body
    assert response.elapsed < LEGIT_S
    assert _regenerate(served.port) < 5


def test_heads_just_under_the_limit_and_pipelined_requests_are_still_served(
    served: Served,
) -> None:
    near = http_request("GET", f"{PATH}?format=json", [("X-Pad", "p" * 14_000)])
    conn = Connection("127.0.0.1", served.port, timeout=5)
    try:
        assert conn.request(near).status == 200
    finally:
        conn.close()
    # 40 requests (with bodies) in one write: parsed piece by piece, all answered
    body = b"format=json&userId=" + USER.encode()  # no password: refused, no hash
    one = http_request("POST", PATH, [("Content-Type", "application/x-www-form-urlencoded")], body)
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(one * 40)
        assert _count_responses(sock, b"HTTP/1.1 200", 40, time.monotonic() + 10) == 40


def _count_responses(sock: socket.socket, status: bytes, want: int, deadline: float) -> int:
    seen, tail = 0, b""
    while seen < want and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            break
        if not chunk:
            break
        data = tail + chunk
        seen += data.count(status)
        tail = data[-len(status) + 1 :]
    return seen


# --- item 11: idle and drip-fed connections -------------------------------------------


def test_the_head_deadline_closes_idle_and_drip_fed_connections(tmp_path: Path) -> None:
    with regenkey_serve(tmp_path, "--head-timeout", "1") as served:
        address = ("127.0.0.1", served.port)
        with socket.create_connection(address) as idle, socket.create_connection(address) as drip:
            drip.sendall(b"GET " + PATH.encode() + b" HTTP/1.1\r\n")
            dripped = _closed_within(drip, 5, drip=b"X-Slow: " + b"s" * 100)
            waited = _closed_within(idle, 5)
        assert dripped is not None and dripped < 3, dripped
        assert waited is not None and waited < 3, waited
        assert _regenerate(served.port) < 5  # and it keeps serving


def _attack(port: int, count: int) -> list[socket.socket]:
    """``count`` connections: half idle, half with an unfinished head."""
    socks = []
    for n in range(count):
        sock = socket.socket()
        sock.settimeout(5)
        try:
            sock.connect(("127.0.0.1", port))
            if n % 2:
                sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Drip: ")
        except OSError:
            sock.close()
            continue
        socks.append(sock)
    return socks


def test_300_idle_and_drip_fed_connections_leave_room_for_a_legitimate_request(
    tmp_path: Path,
) -> None:
    """Under ``ulimit -n 256``, 300 connections that send nothing or half a head
    (and stay within the default 10 s head deadline) would take every file
    descriptor: the cap sheds the ones idle longest instead."""
    with regenkey_serve(tmp_path, nofile=256) as served:
        _regenerate(served.port)  # the first login pays the password hash; the rest do not
        socks = _attack(served.port, ATTACKERS)
        try:
            time.sleep(0.5)  # let the server accept them all
            latencies = [_regenerate(served.port, timeout=3) for _ in range(5)]
        finally:
            for sock in socks:
                sock.close()
    record(
        "slowloris_fast",
        {"attackers": ATTACKERS, "nofile": 256, "legit_latency_s": max(latencies)},
    )
    assert max(latencies) < LEGIT_S, latencies


@pytest.mark.slow
def test_a_sustained_slowloris_attack_never_delays_a_legitimate_request(tmp_path: Path) -> None:
    """For 20 s, 300 attackers reconnect as they are shed and drip a byte
    every second; a legitimate request every 0.2 s answers within 1 s, and
    drip-feeders are closed at the 2 s head deadline."""
    with regenkey_serve(tmp_path, "--head-timeout", "2", nofile=256) as served:
        _regenerate(served.port)
        socks = _attack(served.port, ATTACKERS)
        latencies: list[float] = []
        closed = 0
        started = time.monotonic()
        try:
            while time.monotonic() - started < 20:
                for index, sock in enumerate(socks):
                    try:
                        sock.setblocking(False)
                        if sock.recv(1024) == b"":
                            raise ConnectionResetError
                    except BlockingIOError:
                        with suppress(OSError):
                            sock.send(b"d")
                        continue
                    except OSError:
                        pass
                    closed += 1
                    sock.close()
                    socks[index] = _attack(served.port, 2)[-1]
                latencies.append(_regenerate(served.port, timeout=3))
                time.sleep(0.2)
        finally:
            for sock in socks:
                sock.close()
    record(
        "slowloris_soak",
        {"attackers": ATTACKERS, "seconds": 20, "closed_by_server": closed,
         "legit_requests": len(latencies), "legit_latency_max_s": max(latencies)},
    )  # fmt: skip
    assert max(latencies) < LEGIT_S
    assert closed >= ATTACKERS  # the deadline (or the cap) closed each at least once


# --- item 14: a log nobody reads ------------------------------------------------------


def test_a_stderr_nobody_reads_never_stalls_the_server(tmp_path: Path) -> None:
    long_path = "/" + "n" * 199  # logged in full: about 290 bytes a line
    batch = http_request("GET", long_path) * 100
    with regenkey_serve(tmp_path, pipe=True) as served:
        _regenerate(served.port)
        slowest, logged = 0.0, 0
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
            for _ in range(60):  # 6,000 logged requests: about 1.7 MB of log
                started = time.monotonic()
                sock.sendall(batch)
                got = _count_responses(sock, b"HTTP/1.1 404", 100, started + 5)
                assert got == 100, f"after {logged} requests, {got} of 100 answered"
                slowest = max(slowest, time.monotonic() - started)
                logged += got
        legit = _regenerate(served.port)
        assert served.stderr is not None
        os.set_blocking(served.stderr.fileno(), False)
        text = _read_all(served.stderr, time.monotonic() + 10)
    record(
        "unread_log",
        {"requests": logged, "slowest_batch_of_100_s": round(slowest, 3), "legit_s": legit},
    )
    assert slowest < 2 and legit < LEGIT_S
    dropped = [int(n) for n in re.findall(r"(\d+) log lines dropped", text)]
    assert dropped and sum(dropped) + text.count(" 404 ") >= logged


def _read_all(stream: IO[bytes], deadline: float) -> str:
    """Everything the server writes to ``stream`` until it has said it dropped lines."""
    data = bytearray()
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        try:
            chunk = stream.read(1 << 16)
        except BlockingIOError:
            chunk = None
        if chunk:
            data += chunk
            quiet_since = time.monotonic()
            continue
        # The writer drains its queue in batches: the count of lines dropped
        # after one batch rides on the next, so read on until the log is quiet.
        if b"log lines dropped" in data and time.monotonic() - quiet_since > 0.5:
            break
        time.sleep(0.05)
    return data.decode("utf-8", "replace")


# --- item 15: the password cost of `regenkey serve` -----------------------------------


def test_serve_hashes_at_the_modern_cost_unless_told_and_refuses_a_bad_cost(
    tmp_path: Path,
) -> None:
    db = tmp_path / "db.sqlite3"
    db.touch(mode=0o644)
    db.chmod(0o644)
    env = {**os.environ, "REGENKEY_ACCOUNTS": f"{USER}:{PASSWORD}"}
    command = [sys.executable, "-m", "regenkey.cli", "serve", "--port", "0", "--db", str(db)]
    done = subprocess.run([*command, "--password-cost", "slow"], capture_output=True,
                          text=True, timeout=30, env=env)  # fmt: skip
    assert done.returncode == 2 and "--password-cost" in done.stderr
    assert "Traceback" not in done.stderr
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          stdin=subprocess.DEVNULL) as process:  # fmt: skip
        try:
            assert process.stderr is not None
            assert READY in process.stderr.readline().decode()
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=15)
    assert (db.stat().st_mode & 0o777) == 0o600  # an existing 0644 file is tightened
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM accounts").fetchone()
    assert bytes(stored).startswith(b"scrypt$16384$8$5$")


def test_serve_refuses_a_database_it_cannot_open_without_a_traceback(tmp_path: Path) -> None:
    for where in (tmp_path / "no-such-dir" / "x.db", tmp_path):
        done = subprocess.run(
            [sys.executable, "-m", "regenkey.cli", "serve", "--port", "0", "--db", str(where)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "database" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--head-timeout", "0"], "--head-timeout must be"),
        (["--max-connections", "-1"], "--max-connections must be"),
        (["--password-cost", "scrypt:1000:8:1"], "power of two"),
    ],
)
def test_serve_refuses_bad_limits(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "regenkey.cli", "serve", "--memory", "--port", "0", *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_connection_cap_sheds_the_oldest_idle_connection(tmp_path: Path) -> None:
    with regenkey_serve(tmp_path, "--max-connections", "4") as served:
        address = ("127.0.0.1", served.port)
        first = socket.create_connection(address, timeout=5)
        others = [socket.create_connection(address, timeout=5) for _ in range(3)]
        try:
            time.sleep(0.2)
            assert _regenerate(served.port) < 5  # a fifth connection: room is made
            assert _closed_within(first, 2) is not None  # the oldest idle one went
            assert all(_closed_within(sock, 0.3) is None for sock in others[1:])
        finally:
            for sock in [first, *others]:
                sock.close()
