"""The reference server's access log: one line per HTTP request.

While the app handles a request, it fills in the request's :class:`Note`
(the format answered in, how the client authenticated, the outcome); when the
request ends, :func:`access_line` makes its one line, e.g.
``POST /SMSApi/rest/regenerateAPIKey 200 json auth=credentials result=success
1.2ms``: never the query string, a password or a key.

Where the line goes is the caller's choice. By default it is an INFO record
of the ``regenkey.server`` logger, so that an embedding application (or a
test's ``caplog``) sees it like any other log. ``regenkey serve`` instead
writes to stderr through :class:`BufferedLines`, which costs a fraction of a
logging record and never blocks (:mod:`reference_impl.server.logwriter`):
the lines of the last few milliseconds (:data:`FLUSH_AFTER_S`) go out in
one write, each stamped ``2026-11-25 16:35:52,123 regenkey.server ...`` as
a :class:`logging.Formatter` with ``%(asctime)s %(name)s %(message)s`` would
(the stamp is the write's, at most that late).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import quote

from starlette.types import Scope

from reference_impl.server.logwriter import LogWriter, timestamp

LOGGER = logging.getLogger("regenkey.server")
Sink = Callable[[str], None]

#: How long a line may wait to share a write with the lines after it.
FLUSH_AFTER_S = 0.01
_PATH_SAFE = "/-._~!$'()*+,;=:@"
# What quote() would leave alone (ASCII letters, digits, "_.-~" and ``safe``):
# such text is logged as it is, without the cost of quoting it.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.\-~/!$'()*+,;=:@]{0,200}")
_PLAIN_METHOD = re.compile(r"[A-Za-z0-9_.\-~]{0,20}")


def _path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    return path if _PLAIN_PATH.fullmatch(path) else quote(path[:200], safe=_PATH_SAFE)


def _method(scope: Scope) -> str:
    method = str(scope.get("method", ""))
    return method if _PLAIN_METHOD.fullmatch(method) else quote(method[:20], safe="")


@dataclass(slots=True)
class Note:
    """What the access log says about a request, filled in as it is handled."""

    format: str = "plain"
    auth: str = "none"
    result: str = "-"


def to_logger(message: str) -> None:
    """The default sink: an INFO record of ``regenkey.server``."""
    if LOGGER.isEnabledFor(logging.INFO):
        LOGGER.info("%s", message)


class BufferedLines:
    """A sink writing lines to ``stream``, at most :data:`FLUSH_AFTER_S` late,
    through a :class:`~reference_impl.server.logwriter.LogWriter`: never
    blocking, whatever the stream's reader does.

    Called outside a running loop, it hands the line over at once.
    :meth:`flush` hands over what is pending; :meth:`close` (``serve`` calls
    it when it stops) also waits, boundedly, for it to be written. A stream
    that fails (closed, full disk, nobody reading) loses lines but never
    fails or delays a request.
    """

    def __init__(self, stream: TextIO, name: str = LOGGER.name) -> None:
        self.writer = LogWriter(stream, name)
        self._name = name
        self._pending: list[str] = []
        self._scheduled = False

    def __call__(self, message: str) -> None:
        self._pending.append(message)
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        loop.call_later(FLUSH_AFTER_S, self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        prefix = f"{timestamp()} {self._name} "
        self.writer.put("".join(f"{prefix}{line}\n" for line in lines), len(lines))

    def close(self, timeout: float = 1.0) -> None:
        self.flush()
        self.writer.close(timeout)


def access_line(scope: Scope, status: int, note: Note, started: float) -> str:
    """The log line of a request that began at ``started`` (``time.perf_counter``)."""
    elapsed = (time.perf_counter() - started) * 1000
    return (
        f"{_method(scope)} {_path(scope)} {status} {note.format} auth={note.auth} "
        f"result={note.result} {elapsed:.1f}ms"
    )
