"""`regenkey serve` (and the other commands) as real processes.

The server's stderr (its request log) goes to a file, never to a pipe: a
pipe nobody reads would stall a server that logs 100,000 requests, and the
file is what the secret tests scan.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

READY = "regenkey reference server listening on "
COMMAND = (sys.executable, "-m", "regenkey.cli")


@dataclass
class ServerProcess:
    """A running `regenkey serve`: its URL, process and log file."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    def alive(self) -> bool:
        return self.process.poll() is None

    def memory_kib(self, field: str = "VmHWM") -> int:
        """A field of /proc/<pid>/status in KiB: VmHWM is the peak resident set."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill9(self) -> None:
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, then wait; SIGKILL if it does not stop within 10 s. The exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()
        return int(self.process.returncode)


def start_server(
    db: Path | None,
    log: Path,
    accounts: list[tuple[str, str]],
    *extra: str,
    timeout: float = 20.0,
) -> ServerProcess:
    """Start `regenkey serve --port 0` (``db`` None: ``--memory``) and wait until it listens."""
    where = ["--memory"] if db is None else ["--db", str(db)]
    env = {**os.environ, "REGENKEY_ACCOUNTS": "\n".join(f"{u}:{p}" for u, p in accounts)}
    with open(log, "ab") as sink:
        process = subprocess.Popen(
            [
                *COMMAND,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--password-cost",
                "fast",
                *where,
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            env=env,
        )
    start = log.stat().st_size if log.exists() else 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_bytes()[start:].decode("utf-8", errors="replace")
        if READY in text:
            url = text.split(READY, 1)[1].split()[0]
            return ServerProcess(process, url, log)
        if process.poll() is not None:
            break
        time.sleep(0.02)
    with suppress(ProcessLookupError):
        process.kill()
    process.wait(timeout=10)
    raise RuntimeError(f"regenkey serve did not start: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def server(
    tmp: Path, accounts: list[tuple[str, str]], *extra: str, memory: bool = False
) -> Iterator[ServerProcess]:
    """A `regenkey serve` process for one test, stopped (SIGTERM) at the end."""
    db = None if memory else tmp / "regenkey.sqlite3"
    proc = start_server(db, tmp / "serve.log", accounts, *extra)
    try:
        yield proc
    finally:
        proc.stop()


def run_regenkey(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120.0, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a `regenkey` command to completion (bounded by ``timeout``)."""
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
