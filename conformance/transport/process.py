"""The commands the kit runs for an implementation (check-client's client,
check-parser's parser): each in a session and process group of its own,
and the whole group ended when the kit is done with it.

A command is a shell line, and whatever it starts in the background
(``sleep 300 &``, ``(daemon &)``) stays in its process group; when the
scenario ends, or the command outlives its time, :func:`end_group` sends
the group SIGTERM, allows a short grace, then SIGKILL, so no descendant
outlives the run. A descendant that starts a session of its own has left
the group and is out of reach (``setsid``); nothing in the protocol needs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import suppress
from typing import Any

GRACE = 0.5  # seconds between SIGTERM and SIGKILL
_POLL = 0.02


def start(command: str, **options: Any) -> subprocess.Popen[bytes]:
    """Start ``command`` through the shell, leader of a new session and group."""
    return subprocess.Popen(  # noqa: S602 (the contract: CMD runs through the shell)
        command, shell=True, start_new_session=True, **options
    )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError:  # ProcessLookupError: nobody left; PermissionError: not ours any more
        return False
    return True


def end_group(proc: subprocess.Popen[bytes], grace: float = GRACE) -> None:
    """End ``proc`` and every process of its group: SIGTERM, then SIGKILL after
    ``grace`` seconds for whatever is still there; reaps ``proc``."""
    pgid = proc.pid  # the leader of a new session: its pid is the group's id
    with suppress(OSError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while True:
        proc.poll()  # reap the leader once it exits: an unreaped leader keeps the group alive
        if not _group_alive(pgid):
            break
        if time.monotonic() >= deadline:
            with suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
            break
        time.sleep(_POLL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
