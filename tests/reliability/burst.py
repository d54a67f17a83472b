"""Many requests at once over real HTTP: every connection is opened first,
then every request is written, then every response read, so that the server
has them all in flight together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from tests.reliability.raw import NoResponse


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


@dataclass
class _Start:
    expected: int
    connected: int = 0
    all_connected: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)


async def _one(host: str, port: int, data: bytes, start: _Start, timeout: float) -> Reply:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        start.connected += 1
        if start.connected == start.expected:
            start.all_connected.set()
        await asyncio.wait_for(start.gate.wait(), timeout)
        writer.write(data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), timeout)  # Connection: close
    finally:
        writer.close()
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise NoResponse("closed")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return Reply(status, body)


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2 :]


async def _burst(host: str, port: int, requests: list[bytes], timeout: float) -> list[Reply]:
    start = _Start(len(requests))
    tasks = [asyncio.create_task(_one(host, port, r, start, timeout)) for r in requests]
    try:
        await asyncio.wait_for(start.all_connected.wait(), timeout)
    finally:
        start.gate.set()
    return list(await asyncio.gather(*tasks))


def burst(host: str, port: int, requests: list[bytes], timeout: float = 60.0) -> list[Reply]:
    """Send ``requests`` (each with ``Connection: close``) all at once; the replies in order.

    Every connection is established before the first byte of any request is
    written. Bounded by ``timeout`` for the connections, then per reply."""
    return asyncio.run(_burst(host, port, requests, timeout))
