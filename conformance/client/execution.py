"""Running a client command once: through the shell, in a process group of
its own (:mod:`conformance.transport.process`), with its output bounded and one
deadline, and nothing it started left running afterwards.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import IO

from conformance.client.scenarios import Output
from conformance.transport import process as commands

CANNOT_START = (126, 127)  # the shell's "not executable" and "not found"
MAX_OUTPUT = 1 << 20  # per stream; a client prints one small JSON object


class _Capture(threading.Thread):
    """Reads one of the command's pipes, keeping at most ``limit`` bytes; past
    that it stops and raises the alarm, so that a client printing without end
    neither fills the kit's memory nor waits out its timeout."""

    def __init__(self, stream: IO[bytes], limit: int, alarm: threading.Event) -> None:
        super().__init__(daemon=True)
        self.stream, self.limit, self.alarm = stream, limit, alarm
        self.data = bytearray()
        self.overflow = False

    def run(self) -> None:
        # os.read, not the buffered stream: no lock that a close could wait on.
        try:
            while chunk := os.read(self.stream.fileno(), 65536):
                if len(self.data) + len(chunk) > self.limit:
                    self.overflow = True
                    return
                self.data += chunk
        except OSError:
            pass
        finally:
            self.stream.close()
            self.alarm.set()


@dataclass(frozen=True)
class Run:
    """How one run of the command ended: its output, or why it cannot be judged;
    ``timed_out`` says the problem was the deadline (a safety scenario that
    stalls its answer judges that as the client's waiting, not as an ERROR)."""

    output: Output | None
    problem: str | None = None
    timed_out: bool = False


def run_command(command: str, env: dict[str, str], timeout: float) -> Output | str:
    """Run ``command`` through the shell; an ERROR message if it cannot be judged:
    it cannot start, it outlives ``timeout``, or it prints more than
    :data:`MAX_OUTPUT` bytes on either stream. Once the shell exits (or is
    stopped), whatever it left running in its process group is ended."""
    run = run_once(command, env, timeout)
    if run.output is None:
        return run.problem or "the command could not be judged"
    return run.output


def run_once(command: str, env: dict[str, str], timeout: float) -> Run:
    """:func:`run_command`, telling a timeout apart from the other problems."""
    try:
        proc = commands.start(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        return Run(None, f"the command cannot start: {exc.strerror}")
    assert proc.stdout is not None and proc.stderr is not None
    alarm = threading.Event()
    out, err = _Capture(proc.stdout, MAX_OUTPUT, alarm), _Capture(proc.stderr, MAX_OUTPUT, alarm)
    exited = threading.Event()

    def wait_for_exit() -> None:
        with suppress(OSError):
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # leaves it to reap
        exited.set()
        alarm.set()

    for thread in (out, err, threading.Thread(target=wait_for_exit, daemon=True)):
        thread.start()
    deadline = time.monotonic() + timeout
    problem, timed_out = None, False
    while problem is None:
        alarm.clear()  # before looking: a thread that finishes after this wakes the wait
        if out.overflow or err.overflow:
            stream = "stdout" if out.overflow else "stderr"
            problem = f"the command printed more than {MAX_OUTPUT} bytes on {stream}"
        elif exited.is_set():
            break  # the shell is done; what it left in the background is ended below
        elif (remaining := deadline - time.monotonic()) <= 0:
            problem, timed_out = f"the command did not finish within {timeout:g} s", True
        else:
            alarm.wait(remaining)
    commands.end_group(proc)  # the shell and everything it started
    for capture in (out, err):
        capture.join(timeout=1)  # a grandchild in a session of its own may keep a pipe open
    if problem is not None:
        return Run(None, problem, timed_out)
    stderr = err.data.decode("utf-8", errors="replace")
    if proc.returncode in CANNOT_START:
        last = stderr.strip().splitlines()[-1:] or [""]
        return Run(None, f"the command cannot start (exit {proc.returncode}): {last[0][:200]}")
    return Run(Output(proc.returncode, out.data.decode("utf-8", errors="replace"), stderr))
