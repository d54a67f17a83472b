"""Loopback helpers between the kit and a server: a relay that forwards to a
real server and notes every request and key (with a hook before the first
request), and a sink, a fake proxy that answers nothing and notes whether
anyone came. Every loop ends when the test ends, or after ``LIFETIME``."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from tests.reliability.hostile import LIFETIME
from tests.reliability.proxy import read_request
from tests.reliability.raw import Connection, NoResponse

_KEY = re.compile(rb"(?<![0-9a-fA-F])[0-9a-f]{32}(?![0-9a-fA-F])")


@dataclass
class Relay:
    """What a :func:`relay` saw, in order: ``("request", n)`` and ``("key", key)``."""

    url: str
    events: list[tuple[str, str]] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [v for kind, v in self.events if kind == "key"]

    def requests_after_first_key(self) -> int:
        kinds = [kind for kind, _ in self.events]
        return kinds[kinds.index("key") + 1 :].count("request") if "key" in kinds else 0


@contextmanager
def relay(
    backend_host: str, backend_port: int, before_first: Callable[[], None] | None = None
) -> Iterator[Relay]:
    """A forwarding server on 127.0.0.1 in front of a real one: it notes every
    request and every key issued, and calls ``before_first`` once, before the
    first request is forwarded."""
    seen = Relay("")
    lock = threading.Lock()
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    threads: list[threading.Thread] = []

    def serve(client: socket.socket) -> None:
        backend = Connection(backend_host, backend_port, timeout=30)
        buffer = bytearray()
        try:
            while not stop.is_set():
                request = read_request(client, buffer)
                if request is None:
                    return
                with lock:
                    first = not seen.events
                    seen.events.append(("request", str(len(seen.events))))
                    if first and before_first is not None:
                        before_first()
                response = backend.request(request)
                found = _KEY.search(response.body) if response.status == 200 else None
                if found and b"success" in response.body:
                    with lock:
                        seen.events.append(("key", found.group(0).decode()))
                head = [f"HTTP/1.1 {response.status} X"]
                head += [
                    f"{n}: {v}"
                    for n, v in response.headers
                    if n.lower() not in ("content-length", "transfer-encoding", "connection")
                ]
                head.append(f"Content-Length: {len(response.body)}")
                client.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
        except (OSError, NoResponse):
            return
        finally:
            backend.close()
            client.close()

    def accept() -> None:
        end = time.monotonic() + LIFETIME * 5
        while not stop.is_set() and time.monotonic() < end:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(LIFETIME)
            thread = threading.Thread(target=serve, args=(client,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    seen.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield seen
    finally:
        stop.set()
        with suppress(OSError):
            listener.close()
        acceptor.join(timeout=5)
        for thread in threads:
            thread.join(timeout=5)


@dataclass
class Sink:
    """A listener that answers nothing and notes whether anyone connected."""

    url: str
    received: list[bytes] = field(default_factory=list)
    connections: int = 0


@contextmanager
def sink() -> Iterator[Sink]:
    """A fake proxy on 127.0.0.1: it accepts, reads what comes for a moment, answers nothing."""
    seen = Sink("")
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)

    def accept() -> None:
        end = time.monotonic() + LIFETIME * 5
        while not stop.is_set() and time.monotonic() < end:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            seen.connections += 1
            client.settimeout(0.5)
            with suppress(OSError):
                seen.received.append(client.recv(65536))
            client.close()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    seen.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield seen
    finally:
        stop.set()
        with suppress(OSError):
            listener.close()
        acceptor.join(timeout=5)
