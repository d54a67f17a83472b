"""Live progress of a suite run.

On a terminal, one line that rich redraws in place: the check (or scenario)
running now, the requests sent so far (updated within a check, from the
server context's send path), the time elapsed and an estimate of what is
left. When stdout is not a terminal, or ``NO_COLOR`` is set or ``TERM=dumb``,
the plain lines as before, one a check. rich is imported only when a live
line is shown, so that ``regenkey --help`` stays quick.

Every string shown passes through the run's :class:`Redactor` and
:func:`conformance.reporting.text.printable`, like everything else the terminal
prints. (The kit is imported on first use, not with this module, which
``regenkey.cli`` imports.)
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance import Redactor

REFRESHES_PER_SECOND = 8
# The server suite's outcomes of a check that did not simply pass (the client
# suite's words describe the command's run, judged only at the end).
NOT_OK = frozenset({"failures", "blocked", "error"})
_active: set[LiveProgress] = set()
_lock = threading.Lock()


def wants_live(stream: IO[str] | None = None) -> bool:
    """Whether to draw one updating line on ``stream`` (stdout by default)."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR"):  # no-color.org: set and not empty
        return False
    if os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def clock(seconds: float) -> str:
    """``75.2`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class PlainProgress:
    """One line per finished check (or scenario), as the kit always printed."""

    def __init__(self, redactor: Redactor, stream: IO[str] | None = None) -> None:
        self._redactor = redactor
        self._stream = stream

    def __call__(self, n: int, total: int, name: str, outcome: str) -> None:
        from conformance.reporting.text import printable

        line = printable(self._redactor(f"  [{n:>2}/{total}] {name} ... {outcome}"))
        print(line, file=self._stream or sys.stdout, flush=True)


class LiveProgress:
    """One line redrawn in place while a suite runs (see the module's docstring).

    ``on_send(check, requests)`` is the cheap hook the server context calls on
    every request (it only stores two values); ``__call__`` is called when a
    check or scenario ends. The line is drawn by rich's refresh thread, a few
    times a second, and closed (left showing the totals) when the last check
    ends, when :meth:`close` is called, or when the process exits.
    """

    def __init__(self, redactor: Redactor, stream: IO[str] | None = None) -> None:
        self._redactor = redactor
        self._stream = stream
        self._started = time.monotonic()
        self._current = ""  # the check sending now (from on_send)
        self._last = ""  # the check or scenario that ended last
        self._requests: int | None = None
        self._done = 0
        self._total: int | None = None
        self._problems = 0
        self._live: Any = None
        self._closed = False

    # --- the hooks ---------------------------------------------------------------
    def on_send(self, check: str, requests: int) -> None:
        self._current, self._requests = check, requests
        if self._live is None:
            self._start()

    def __call__(self, n: int, total: int, name: str, outcome: str) -> None:
        self._done, self._total = n, total
        if outcome in NOT_OK:
            self._problems += 1
        self._last = name
        if n >= total:
            self.close()
        elif self._live is None:
            self._start()

    # --- drawing -----------------------------------------------------------------
    def text(self) -> str:
        """The line as it reads now (redacted and escaped)."""
        from conformance.reporting.text import printable

        elapsed = time.monotonic() - self._started
        total = f"/{self._total}" if self._total else ""
        finished = self._total is not None and self._done >= self._total
        parts = [f"{self._done}{total} done"]
        if self._requests is not None:
            parts.append(f"{self._requests} request{'' if self._requests == 1 else 's'}")
        parts.append(f"{clock(elapsed)} elapsed")
        if not finished:
            if self._done and self._total:
                left = elapsed / self._done * (self._total - self._done)
                parts.append(f"~{clock(left)} left")
            else:
                parts.append("estimating")
        if self._problems:
            parts.append(f"{self._problems} not ok")
        # the name last: a narrow terminal cuts it short (ellipsis), not the figures
        if not finished and self._current:
            parts.append(f"now: {self._current}")
        elif not finished and self._last:
            parts.append(f"last: {self._last}")
        return printable(self._redactor(" | ".join(parts)))

    def _renderable(self) -> Any:
        from rich.text import Text

        return Text(self.text(), no_wrap=True, overflow="ellipsis")

    def _start(self) -> None:
        with _lock:
            if self._live is not None or self._closed:
                return
            from rich.console import Console
            from rich.live import Live

            console = Console(
                file=self._stream or sys.stdout,
                force_terminal=True,
                color_system=None,
                highlight=False,
                emoji=False,
            )
            self._live = Live(
                console=console,
                get_renderable=self._renderable,
                refresh_per_second=REFRESHES_PER_SECOND,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start(refresh=True)
            _active.add(self)

    def close(self) -> None:
        """Draw the final line and end it with a newline (idempotent)."""
        with _lock:
            self._closed = True
            live, self._live = self._live, None
            _active.discard(self)
        if live is not None:
            live.refresh()
            live.stop()


def close_all() -> None:
    """End every live line still drawn (an interrupted run), so that what is
    printed next starts on a line of its own and the cursor is shown again."""
    for progress in list(_active):
        progress.close()


atexit.register(close_all)


def progress_for(redactor: Redactor, stream: IO[str] | None = None) -> LiveProgress | PlainProgress:
    """A live line on a terminal, the plain lines otherwise."""
    if wants_live(stream):
        return LiveProgress(redactor, stream)
    return PlainProgress(redactor, stream)
