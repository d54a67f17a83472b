"""The test every mutant of ``reference_impl/server/`` has to fail: ``check-server``.

mutmut runs this as its runner (``python -m bench.mutation_check``) inside a
copy of the tree that holds one mutant. It runs ``regenkey check-server``
twice, strictly and with a fixed seed (the same mutant always meets the same
requests):

1. with no ``--base-url``, so the command serves the (mutated) reference app
   in-process with two throwaway accounts on a ``MemoryStore`` (uvicorn's h11);
2. with ``--base-url`` against ``regenkey serve`` itself, started as a child
   process the way an SDK author starts it: a ``SqliteStore`` file, uvicorn
   under the server's own HTTP protocol (httptools, :mod:`~reference_impl.server.protocol`),
   its connection bounds, its access log and log writer, its account loading
   (``REGENKEY_ACCOUNTS``). Without this pass ``run.py``, ``protocol.py``,
   ``connections.py`` and ``logwriter.py`` would never run under a mutant.

A mutant of a module only ``regenkey serve`` runs (:data:`SERVE_ONLY`: the
in-process pass imports them but calls nothing of theirs, and the second pass
imports them too) is judged by the second pass alone: the first could not tell
it from the unmutated server. mutmut keeps the unmutated file beside the
mutated one as ``<module>.py.bak``, which is how the harness knows the module.

Exit 0 (the mutant survived) only when both verdicts are PASS; any FAIL,
NON-STRICT, INCOMPLETE or ERROR (a mutant that hangs, crashes, answers 5xx or
does not start) kills it. A run stops at the first check that records a
failure or an error (under ``--strict`` the verdict can then no longer be
PASS), and the second pass runs only when the first passed, so a killed
mutant costs part of one run; a surviving one costs both whole runs.

    python -m bench.mutation_check [--seed N] [--max-examples N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

SEED = 20261202
EXAMPLES = 25  # check-server's default
START_TIMEOUT_S = 30.0  # a mutant whose server never says it listens is killed
STOP_TIMEOUT_S = 10.0
SERVER = Path(__file__).resolve().parent.parent / "reference_impl" / "server"
#: Modules whose code runs only under ``regenkey serve`` (never in-process).
SERVE_ONLY = frozenset({"connections.py", "logwriter.py", "protocol.py", "run.py"})
_READY = re.compile(r"listening on (http://\S+)")
_SERVE = "import sys; from regenkey.cli import main; sys.exit(main(sys.argv[1:]))"


class FirstFailure(Exception):
    """A check recorded a failure or an error: the strict verdict is not PASS."""


def _stops_at_first_failure(redactor: object) -> Callable[[int, int, str, str], None]:
    """check-server's progress hook (``regenkey.terminal.progress_printer``) for
    this harness: prints nothing, and ends the run at the first check whose
    outcome is ``failures`` or ``error`` (each records a failure or an error for
    the check's ids, so under ``--strict`` the verdict is FAIL or ERROR)."""

    def progress(n: int, total: int, name: str, outcome: str) -> None:
        if outcome in ("failures", "error"):
            raise FirstFailure(name)

    return progress


def verdict_code(
    seed: int = SEED, examples: int = EXAMPLES, target: list[str] | None = None
) -> int:
    """check-server's exit code (1 at its first failure or error): against the
    embedded reference server, or with ``target`` (``--base-url`` and the
    accounts) against another."""
    from regenkey import terminal
    from regenkey.cli import main as regenkey

    with tempfile.TemporaryDirectory(prefix="regenkey-mutation-") as reports:
        out = io.StringIO()
        args = ["check-server", "--strict", "--seed", str(seed), *(target or [])]
        args += ["--max-examples", str(examples), "--report-dir", reports]
        hook = terminal.progress_printer
        terminal.progress_printer = _stops_at_first_failure
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                return regenkey(args)
        except FirstFailure:
            return 1
        finally:
            terminal.progress_printer = hook


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, have the kernel stop it when the harness
    dies, even by SIGKILL, so that a stopped mutant leaves no server behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _drain(stream: io.TextIOBase, lines: queue.Queue[str]) -> None:
    """Every line of the server's stderr into ``lines`` until it closes, so that a
    full pipe never stalls the server (its access log writes there)."""
    for line in stream:
        lines.put(line)
    lines.put("")


@contextlib.contextmanager
def regenkey_serve(accounts: list[tuple[str, str]], db: str) -> Iterator[str | None]:
    """``regenkey serve`` on an ephemeral loopback port, in a child process, with
    ``accounts`` and the SQLite file ``db``: its base URL, or None when it did not
    say it listens within :data:`START_TIMEOUT_S`. Stopped (SIGTERM, then SIGKILL)
    on exit."""
    env = {**os.environ, "REGENKEY_ACCOUNTS": "\n".join(f"{u}:{p}" for u, p in accounts)}
    command = [sys.executable, "-c", _SERVE, "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--db", db, "--password-cost", "fast"]
    child = subprocess.Popen(
        command,
        preexec_fn=_die_with_parent,  # mutmut SIGKILLs a runner that times out
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    lines: queue.Queue[str] = queue.Queue()
    assert child.stderr is not None
    reader = threading.Thread(target=_drain, args=(child.stderr, lines), daemon=True)
    reader.start()
    try:
        yield _wait_ready(lines, time.monotonic() + START_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=STOP_TIMEOUT_S)
        reader.join(timeout=STOP_TIMEOUT_S)


def _wait_ready(lines: queue.Queue[str], deadline: float) -> str | None:
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return None
        if not line:  # the server exited
            return None
        if found := _READY.search(line):
            return found.group(1)
    return None


def served_verdict_code(seed: int = SEED, examples: int = EXAMPLES) -> int:
    """check-server's exit code against ``regenkey serve`` (SqliteStore, the
    server's own HTTP protocol and connection bounds); 1 when it did not start."""
    plain, tricky = f"Mutant-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+&=%41ü"
    accounts = [("mutation-plain", plain), ("mutation-tricky", tricky)]
    # tmpfs: no fsync wait per rotation; the folder itself is made private by tempfile
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
    with tempfile.TemporaryDirectory(prefix="regenkey-mutation-db-", dir=memory) as folder:
        with regenkey_serve(accounts, os.path.join(folder, "keys.db")) as base_url:
            if base_url is None:
                return 1
            os.environ["REGENKEY_PASSWORD"] = plain
            os.environ["REGENKEY_TRICKY_PASSWORD"] = tricky
            target = ["--base-url", base_url, "--user-id", "mutation-plain"]
            target += ["--tricky-user-id", "mutation-tricky"]
            return verdict_code(seed, examples, target)


def mutated_modules(server: Path = SERVER) -> set[str]:
    """The modules of ``server`` that hold a mutant now: those mutmut has kept a
    ``.bak`` of (none outside a mutmut run: then both passes run)."""
    return {p.name.removesuffix(".bak") for p in server.glob("*.py.bak")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--max-examples", type=int, default=EXAMPLES)
    args = parser.parse_args(argv)
    try:
        code = 0
        if not mutated_modules() <= SERVE_ONLY:
            code = verdict_code(args.seed, args.max_examples)
        if code == 0:
            code = served_verdict_code(args.seed, args.max_examples)
    except Exception as exc:  # a mutant that breaks the import or the start: killed
        print(f"check-server did not run: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
