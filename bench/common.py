"""What every benchmark shares: the machine, medians, processes and servers.

Everything runs on 127.0.0.1. Servers are separate processes (so that the
load never shares a Python interpreter with what it measures), started with
an ephemeral port that they report on stderr.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
READY = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
PACKAGES = [
    "regenkey-kit", "schemathesis", "hypothesis", "jsonschema", "xmlschema", "lark",
    "httpx", "starlette", "uvicorn", "h11", "httptools", "uvloop", "jsonschema-rs",
]  # fmt: skip


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def summary(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """The median of several runs, with the runs themselves."""
    return {"median": round(median(values), digits), "runs": [round(v, digits) for v in values]}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(command: list[str]) -> str | None:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


def _prism_version(prism: Path | None) -> str | None:
    """Read from its package.json: ``prism --version`` costs a Node start-up."""
    if prism is None:
        return None
    package = prism.parent.parent / "@stoplight" / "prism-cli" / "package.json"
    try:
        return str(json.loads(package.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def machine_info(prism: Path | None) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": versions,
        "node": _version(["node", "--version"]),
        "prism": _prism_version(prism),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def env(**extra: str) -> dict[str, str]:
    """This environment with the venv first on PATH and ``extra`` set."""
    out = dict(os.environ)
    out["PATH"] = f"{BIN}{os.pathsep}{out.get('PATH', '')}"
    for secret in ("REGENKEY_PASSWORD", "REGENKEY_TRICKY_PASSWORD", "REGENKEY_API_KEY"):
        out.pop(secret, None)
    out.update(extra)
    return out


@dataclass
class Finished:
    """A command that ran: wall time, the children's peak RSS, its output."""

    seconds: float
    peak_rss_mib: float
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)
    cpu_s: float = 0.0  # the child's user + system CPU time


def measure(command: list[str], environ: dict[str, str], timeout: float = 300,
            cwd: Path = ROOT) -> Finished:  # fmt: skip
    """Run ``command``; its peak RSS comes from ``wait4`` (the child's own rusage)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=environ, cwd=cwd)
        watchdog = threading.Timer(timeout, proc.kill)  # a bounded run, whatever happens
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        finally:
            watchdog.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Finished(
            seconds,
            usage.ru_maxrss / 1024,  # KiB on Linux
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_utime + usage.ru_stime,
        )


def rss_mib(pid: int) -> float:
    """The resident set of a running process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Server:
    """A server process on loopback, and what its start-up took."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    ready_s: float

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log_lines(self, needle: str) -> int:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return sum(1 for line in text.splitlines() if needle in line)


@contextmanager
def server(command: list[str], environ: dict[str, str], url: str | None = None,
           timeout: float = 60) -> Iterator[Server]:  # fmt: skip
    """Start ``command``; the URL is read from its ready line on stderr
    (``url`` given: polled until it accepts connections)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as sink:
            started = time.perf_counter()
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink, env=environ,
                                    cwd=ROOT)  # fmt: skip
        try:
            found = _wait_ready(proc, log, url, started + timeout)
            yield Server(found, proc, log, time.perf_counter() - started)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], log: Path, url: str | None, deadline: float) -> str:
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited: {log.read_text(errors='replace')[-800:]}")
        if url is None:
            match = READY.search(log.read_text(encoding="utf-8", errors="replace"))
            if match:
                return match.group(1)
        else:
            port = int(url.rsplit(":", 1)[1])
            with socket.socket() as sock:
                if sock.connect_ex((HOST, port)) == 0:
                    return url
        time.sleep(0.005)
    raise RuntimeError(f"{proc.args!r} did not become ready")


def reference_server(accounts: list[tuple[str, str]], password_cost: str | None = None) -> Any:
    """``regenkey serve --port 0 --memory`` with these accounts (and, given, that
    ``--password-cost``; its default is the modern one every measure uses)."""
    spec = "\n".join(f"{user}:{password}" for user, password in accounts)
    command = [str(BIN / "regenkey"), "serve", "--port", "0", "--memory"]
    if password_cost is not None:
        command += ["--password-cost", password_cost]
    return server(command, env(REGENKEY_ACCOUNTS=spec))


def children_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
