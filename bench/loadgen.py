"""A small HTTP/1.1 load generator on raw asyncio streams.

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


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(port: int, plan: Plan, until: float, counting_from: float,
                      tally: Tally) -> None:  # fmt: skip
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        tally.errors += 1
        return
    try:
        # A server that stops answering ends the run instead of hanging it.
        async with asyncio.timeout(until - time.perf_counter() + STALL_S):
            while time.perf_counter() < until:
                writer.write(plan.request())
                status, body = await _read_response(reader)
                ok = status == 200 and plan.answered(body)
                if time.perf_counter() >= counting_from:  # not during the warm-up
                    tally.requests += 1
                    tally.good += ok
                    tally.bad += not ok
    except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
        tally.errors += 1
    finally:
        writer.close()


async def _run(port: int, plans: list[Plan], warmup: float, seconds: float) -> Tally:
    tally = Tally()
    start = time.perf_counter()
    counting_from, until = start + warmup, start + warmup + seconds
    await asyncio.gather(*(_connection(port, p, until, counting_from, tally) for p in plans))
    return tally


def run_load(port: int, plans: list[Plan], seconds: float, warmup: float = 0.5) -> dict[str, float]:
    """Requests per second over ``seconds`` (after ``warmup``), one connection a plan."""
    tally = asyncio.run(_run(port, plans, warmup, seconds))
    return {
        "rps": tally.requests / seconds,
        "requests": tally.requests,
        "good": tally.good,
        "bad": tally.bad,
        "errors": tally.errors,
    }
