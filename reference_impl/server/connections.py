"""Bounds on the connections of ``regenkey serve``: a request deadline and a cap.

uvicorn arms its keep-alive timer only after a response, so a connection that
never sends a request, or drips one byte at a time, stays open for ever; a few
hundred of them exhaust the process's file descriptors and every legitimate
request fails. Two bounds end that:

* **A request deadline.** A request's head and body must have arrived
  :attr:`Limits.head_timeout` seconds (default 10) after the connection opened
  (the first request) or after the request's first byte (later ones; between
  requests uvicorn's keep-alive timeout, 5 s, applies). One timer per pool
  sweeps the connections every :attr:`Limits.sweep_every` seconds and closes
  the late ones: setting a deadline costs a request one float, not a timer.
* **A connection cap.** At most :attr:`Limits.max_connections` connections are
  open; the default leaves headroom below the file-descriptor limit
  (``RLIMIT_NOFILE``) for the database, the log and the listening socket. A
  connection that arrives when the cap is reached closes the connection that
  has been idle longest (no request being answered: before its first request,
  in the middle of a head, or between requests); when every connection is
  busy answering a request, the newcomer is closed instead.
"""

from __future__ import annotations

import asyncio
import resource
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

DEFAULT_HEAD_TIMEOUT = 10.0
#: File descriptors kept free below RLIMIT_NOFILE (the database and its WAL
#: files, stderr, the event loop, the listening socket, a margin).
FD_HEADROOM = 32
MAX_DEFAULT_CONNECTIONS = 10_000


def default_max_connections() -> int:
    """The connection cap for this process's file-descriptor limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_DEFAULT_CONNECTIONS
    headroom = max(FD_HEADROOM, soft // 8)
    return max(1, min(MAX_DEFAULT_CONNECTIONS, soft - headroom))


@dataclass(frozen=True)
class Limits:
    """What bounds a connection (see the module's docstring)."""

    head_timeout: float = DEFAULT_HEAD_TIMEOUT
    max_connections: int = 0  # 0: default_max_connections()

    def __post_init__(self) -> None:
        if not self.head_timeout > 0:
            raise ValueError("the head timeout must be positive")
        if self.max_connections < 0:
            raise ValueError("the connection cap must be positive")

    @property
    def cap(self) -> int:
        return self.max_connections or default_max_connections()

    @property
    def sweep_every(self) -> float:
        return min(1.0, self.head_timeout / 4)


class Connection(Protocol):
    """What the pool needs of a connection (the protocol of one)."""

    deadline: float | None

    def drop(self) -> None:
        """Close the connection now."""


class Pool:
    """The open connections of one server, with their deadlines."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cap = limits.cap
        self._open: set[Connection] = set()
        self._idle: OrderedDict[Connection, None] = OrderedDict()
        self._sweeping: asyncio.AbstractEventLoop | None = None
        self.shed = 0  # idle connections closed to make room
        self.refused = 0  # newcomers closed because every connection was busy
        self.timed_out = 0

    def __len__(self) -> int:
        return len(self._open)

    def opened(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> bool:
        """Admit ``conn`` (idle, its deadline set by the caller); False: refused."""
        if self._sweeping is not loop:
            self._sweeping = loop
            loop.call_later(self.limits.sweep_every, self._sweep, loop)
        if len(self._open) >= self.cap:
            if not self._idle:
                self.refused += 1
                return False
            oldest = next(iter(self._idle))
            self.closed(oldest)
            self.shed += 1
            oldest.drop()
        self._open.add(conn)
        self._idle[conn] = None
        return True

    def closed(self, conn: Connection) -> None:
        self._open.discard(conn)
        self._idle.pop(conn, None)

    def busy(self, conn: Connection) -> None:
        """``conn`` is answering a request: it is never shed."""
        self._idle.pop(conn, None)

    def idle(self, conn: Connection) -> None:
        """``conn`` has answered and waits for its next request (newest idle)."""
        if conn in self._open:
            self._idle[conn] = None
            self._idle.move_to_end(conn)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop.is_closed() or self._sweeping is not loop:
            return
        now = loop.time()
        late = [c for c in self._open if c.deadline is not None and c.deadline <= now]
        for conn in late:
            self.closed(conn)
            self.timed_out += 1
            conn.drop()
        loop.call_later(self.limits.sweep_every, self._sweep, loop)
