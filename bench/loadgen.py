"""A small HTTP/1.1 load generator: an asyncio protocol per connection, on uvloop.

Closed loop: each of ``connections`` keep-alive connections sends a request,
reads the whole response (``Content-Length`` bodies only) and sends the next,
until the time is up. The same generator drives every target, so the ratios
compare servers, not clients. A :class:`Plan` makes the requests: a constant
one, or a *key chain*, where every request presents the key the previous
response issued (``apiKey`` header), so that each one really regenerates.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from conformance import ENDPOINT_PATH

KEY_IN_BODY = re.compile(rb"apiKey=([0-9a-f]{32})")
STALL_S = 10.0


def get(path: str, host: str, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def credentials_path(user_id: str, password: str, fmt: str = "plain") -> str:
    query = f"userId={quote(user_id, safe='')}&password={quote(password, safe='')}&format={fmt}"
    return f"{ENDPOINT_PATH}?{query}"


@dataclass
class Plan:
    """How one connection makes its requests.

    ``constant`` is sent again and again; with ``chain`` set, the first
    request is ``constant`` (credentials) and each later one presents the key
    the previous response issued.
    """

    host: str
    constant: bytes
    chain: bool = False
    key: bytes | None = field(default=None, repr=False)

    def request(self) -> bytes:
        if not self.chain or self.key is None:
            return self.constant
        return get(f"{ENDPOINT_PATH}?format=plain", self.host, (("apiKey", self.key.decode()),))

    def answered(self, body: bytes) -> bool:
        """Whether the answer is what the plan expects (a new key, for a chain)."""
        if not self.chain:
            return True
        found = KEY_IN_BODY.search(body)
        self.key = found.group(1) if found else None
        return found is not None


@dataclass
class Tally:
    requests: int = 0
    good: int = 0
    bad: int = 0
    errors: int = 0


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send, read one whole response, send again.

    A protocol with its own buffer, not asyncio streams: the generator must
    cost much less per request than the fastest server it measures, or it
    measures itself (the bare endpoint answers in about 50 us)."""

    def __init__(self, plan: Plan, until: float, counting_from: float, tally: Tally,
                 done: asyncio.Future[None]) -> None:  # fmt: skip
        self.plan, self.until, self.counting_from = plan, until, counting_from
        self.tally, self.done = tally, done
        self.buffer = bytearray()
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.plan.request())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = _content_length(bytes(self.buffer[:head_end]))
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            status = int(self.buffer[9:12])
            body = bytes(self.buffer[head_end + 4 : end])
            del self.buffer[:end]
            self._answered(status, body)

    def _answered(self, status: int, body: bytes) -> None:
        ok = status == 200 and self.plan.answered(body)
        now = time.perf_counter()
        if now >= self.counting_from:  # not during the warm-up
            self.tally.requests += 1
            self.tally.good += ok
            self.tally.bad += not ok
        if now < self.until:
            self.transport.write(self.plan.request())
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None or time.perf_counter() < self.until:
            self.tally.errors += 1  # closed before the run was over
        if not self.done.done():
            self.done.set_result(None)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def _connection(port: int, plan: Plan, until: float, counting_from: float,
                      tally: Tally) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    try:
        transport, _ = await loop.create_connection(
            lambda: _Connection(plan, until, counting_from, tally, done), "127.0.0.1", port
        )
    except OSError:
        tally.errors += 1
        return
    try:
        # A server that stops answering ends the run instead of hanging it.
        await asyncio.wait_for(done, until - time.perf_counter() + STALL_S)
    except (TimeoutError, ValueError):
        tally.errors += 1
    finally:
        transport.close()


async def _run(port: int, plans: list[Plan], warmup: float, seconds: float) -> Tally:
    tally = Tally()
    start = time.perf_counter()
    counting_from, until = start + warmup, start + warmup + seconds
    await asyncio.gather(*(_connection(port, p, until, counting_from, tally) for p in plans))
    return tally


def run_load(port: int, plans: list[Plan], seconds: float, warmup: float = 0.5) -> dict[str, float]:
    """Requests per second over ``seconds`` (after ``warmup``), one connection a plan."""
    try:
        import uvloop

        tally = uvloop.run(_run(port, plans, warmup, seconds))
    except ImportError:  # pragma: no cover (uvloop is a dependency where it exists)
        tally = asyncio.run(_run(port, plans, warmup, seconds))
    return {
        "rps": tally.requests / seconds,
        "requests": tally.requests,
        "good": tally.good,
        "bad": tally.bad,
        "errors": tally.errors,
    }
