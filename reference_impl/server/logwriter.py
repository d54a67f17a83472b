"""Writing the server's log without ever blocking a request.

A write to stderr blocks when whoever reads it stops reading (a pipe holds
64 KiB); written from the event loop, that write froze the whole server. A
:class:`LogWriter` takes text from any thread into a bounded queue
(:data:`QUEUE_BYTES`) and returns at once; one daemon thread writes the queue
out. When the queue is full, text is dropped and counted, and once writing
works again a line says how many lines were lost::

    2026-11-25 16:35:52,123 regenkey.server 1532 log lines dropped (the log was not read)

The thread writes straight to the stream's file descriptor when it has one,
so a stalled reader never holds the lock of ``sys.stderr``'s buffer (the
interpreter flushes it at exit). :class:`LogHandler` sends ``logging``
records the same way; ``regenkey serve`` gives it the server's logger and
uvicorn's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import TextIO

QUEUE_BYTES = 1 << 20
DROPPED = "{count} log lines dropped (the log was not read)"


def timestamp(now: float | None = None) -> str:
    """Local time as :class:`logging.Formatter` writes ``%(asctime)s``."""
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now % 1 * 1000):03d}"


class LogWriter:
    """A bounded queue of text for ``stream``, written out by a daemon thread."""

    def __init__(self, stream: TextIO, name: str = "regenkey.server", limit: int = QUEUE_BYTES):
        self._stream = stream
        self._name = name
        self._limit = limit
        try:
            self._fd: int | None = stream.fileno()
        except (OSError, ValueError, AttributeError):
            self._fd = None
        self._queue: deque[str] = deque()
        self._queued = 0
        self._dropped = 0  # lines, not yet reported
        self.dropped_total = 0
        self._closing = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="regenkey-log", daemon=True)
        self._thread.start()

    def put(self, text: str, lines: int = 1) -> None:
        """Queue ``text`` (``lines`` lines of it); never blocks on the stream."""
        with self._ready:
            if self._closing or self._queued + len(text) > self._limit:
                self._dropped += lines
                self.dropped_total += lines
                return
            self._queue.append(text)
            self._queued += len(text)
            self._ready.notify()

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until everything queued is written; True if it was."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 1.0) -> None:
        """Write what is queued (waiting at most ``timeout`` s), then stop the thread."""
        self.drain(timeout)
        with self._ready:
            self._closing = True
            self._ready.notify_all()

    _busy = False

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    return
                text = "".join(self._queue)
                self._queue.clear()
                self._queued = 0
                self._busy = True
                dropped, self._dropped = self._dropped, 0
            if dropped:
                text += f"{timestamp()} {self._name} {DROPPED.format(count=dropped)}\n"
            self._write(text)
            with self._ready:
                self._busy = False
                self._ready.notify_all()

    def _write(self, text: str) -> None:
        try:
            if self._fd is None:
                self._stream.write(text)
                self._stream.flush()
                return
            data = memoryview(text.encode("utf-8", "replace"))
            while data:
                data = data[os.write(self._fd, data) :]
        except (OSError, ValueError):
            pass  # a closed stream or a full disk loses lines, never a request


class LogHandler(logging.Handler):
    """A ``logging`` handler putting each formatted record into a :class:`LogWriter`."""

    def __init__(self, writer: LogWriter) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            line = f"{record.name} unformattable log record"
        self.writer.put(line + "\n")
