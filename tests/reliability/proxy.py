"""A gate in front of a server: it forwards requests, notes every key the
server hands out, and after the N-th one holds the next request, so that a
test can kill the kit exactly between a rotation and its next request."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from tests.reliability.raw import Connection, NoResponse

_KEY = re.compile(rb"(?<![0-9a-fA-F])[0-9a-f]{32}(?![0-9a-fA-F])")
HOLD_AT_MOST = 60.0


def read_request(sock: socket.socket, buffer: bytearray) -> bytes | None:
    """One complete request's raw bytes (Content-Length or chunked body); None at EOF."""

    def fill() -> bool:
        chunk = sock.recv(65536)
        buffer.extend(chunk)
        return bool(chunk)

    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if not fill():
            return None
    head = bytes(buffer[: end + 4]).lower()
    size = end + 4
    if b"transfer-encoding: chunked" in head:
        pos = size
        while True:
            while (eol := buffer.find(b"\r\n", pos)) < 0:
                if not fill():
                    return None
            length = int(bytes(buffer[pos:eol]).split(b";")[0] or b"0", 16)
            pos = eol + 2 + length + 2
            while len(buffer) < pos:
                if not fill():
                    return None
            if length == 0:
                break
        size = pos
    elif match := re.search(rb"\r\ncontent-length: *(\d+)", head):
        size += int(match.group(1))
        while len(buffer) < size:
            if not fill():
                return None
    request = bytes(buffer[:size])
    del buffer[:size]
    return request


@dataclass
class Gate:
    """What the gate saw: keys issued (in order) and whether it is holding a request."""

    hold_after: int | None  # None: never hold
    keys: list[str] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def gate_proxy(
    backend_host: str, backend_port: int, hold_after: int | None
) -> Iterator[tuple[str, Gate]]:
    """A proxy on 127.0.0.1; yields its URL and its :class:`Gate`."""
    gate = Gate(hold_after)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    threads: list[threading.Thread] = []

    def serve(client: socket.socket) -> None:
        backend = Connection(backend_host, backend_port, timeout=30)
        buffer = bytearray()
        try:
            while not gate.release.is_set():
                request = read_request(client, buffer)
                if request is None:
                    return
                with gate.lock:
                    hold = gate.hold_after is not None and len(gate.keys) >= gate.hold_after
                if hold:
                    gate.holding.set()
                    gate.release.wait(HOLD_AT_MOST)
                    return
                response = backend.request(request)
                if response.status == 200:
                    found = _KEY.search(response.body)
                    if found and b"success" in response.body:
                        with gate.lock:
                            gate.keys.append(found.group(0).decode())
                head = [f"HTTP/1.1 {response.status} X"]
                head += [
                    f"{n}: {v}"
                    for n, v in response.headers
                    if n.lower() not in ("content-length", "transfer-encoding", "connection")
                ]
                head.append(f"Content-Length: {len(response.body)}")
                if not response.keep_alive:
                    head.append("Connection: close")
                client.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
                if not response.keep_alive:
                    return
        except (OSError, NoResponse):
            return
        finally:
            backend.close()
            client.close()

    def accept() -> None:
        while not gate.release.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(HOLD_AT_MOST)
            thread = threading.Thread(target=serve, args=(client,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{port}", gate
    finally:
        gate.release.set()
        with suppress(OSError):
            listener.close()
        acceptor.join(timeout=5)
        for thread in threads:
            thread.join(timeout=5)
