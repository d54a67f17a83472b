"""Serve an ASGI app on an ephemeral loopback port, in this process.

The client suite serves its conformance server this way, and the command
serves the embedded reference server the same way. A second listener of
another origin (:func:`other_origin_host`: 127.0.0.2 where it can be bound,
else 127.0.0.1 on another port) is what the client suite redirects to when it
checks that a client keeps its credentials to their origin.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

SECOND_HOST = "127.0.0.2"


def other_origin_host() -> str:
    """127.0.0.2 when this machine lets it be bound (Linux does: all of
    127.0.0.0/8 is loopback), else 127.0.0.1; either way a listener there on an
    ephemeral port is another origin (scheme, host and port) than the first."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((SECOND_HOST, 0))
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()
    return SECOND_HOST


@contextmanager
def serving(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yields the base URL."""
    # IPPROTO_TCP named explicitly: asyncio turns off Nagle only for such sockets
    # (without it every request waits ~40 ms for a delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    # h11, named (uvicorn would pick httptools when installed): it hands every
    # method and every header as sent to the app, which is what a test double
    # and a conformance server need; regenkey serve picks its own.
    config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            sock.close()
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
