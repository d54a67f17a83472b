"""Run the reference server with uvicorn, and load accounts for it.

:func:`serve` binds the address itself (so that port 0 yields one ephemeral
port, reported on stderr), runs uvicorn with its access log off (it would
print query strings, passwords included) and returns when the server stops
(SIGINT/SIGTERM). The store belongs to the caller, who closes it.

Accounts are given as ``USER:PASSWORD`` (split on the first colon, so the
password may contain colons): on the command line, one per line in the
``REGENKEY_ACCOUNTS`` environment variable, or one per line in a file
(blank lines and lines starting with ``#`` are skipped). Error messages name
the line, never its content.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

import uvicorn

from reference_impl.server.accesslog import LOGGER, BufferedLines, to_logger
from reference_impl.server.app import build_app
from reference_impl.server.connections import Limits
from reference_impl.server.logwriter import LogHandler, LogWriter
from reference_impl.server.protocol import http_protocol
from reference_impl.server.requests import DEFAULT_MAX_BODY
from reference_impl.server.store import Store

ACCOUNTS_ENV = "REGENKEY_ACCOUNTS"
READY_LINE = "regenkey reference server listening on {url}"

Account = tuple[str, str]


def parse_account_spec(text: str) -> Account:
    """``"user:password"`` as ``("user", "password")``, split on the first colon.

    Raises ValueError (whose message never repeats ``text``) when there is no
    colon or either side is empty.
    """
    user_id, colon, password = text.partition(":")
    if not colon:
        raise ValueError("an account must be given as USER:PASSWORD (no colon found)")
    if not user_id or not password:
        raise ValueError("an account must be given as USER:PASSWORD (empty user or password)")
    return user_id, password


def _parse_lines(lines: Iterable[str], where: str, comments: bool) -> list[Account]:
    accounts = []
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip() or (comments and line.startswith("#")):
            continue
        try:
            accounts.append(parse_account_spec(line))
        except ValueError as exc:
            raise ValueError(f"{where}, line {number}: {exc}") from None
    return accounts


def accounts_from_env(
    environ: Mapping[str, str] | None = None, name: str = ACCOUNTS_ENV
) -> list[Account]:
    """The accounts in ``$REGENKEY_ACCOUNTS``: ``user:password`` entries, one per line."""
    text = (os.environ if environ is None else environ).get(name, "")
    return _parse_lines(text.splitlines(), f"${name}", comments=False)


def accounts_from_file(path: str | os.PathLike[str]) -> list[Account]:
    """The accounts in a UTF-8 file: ``user:password`` lines; ``#`` starts a comment line."""
    text = Path(path).read_text(encoding="utf-8")
    return _parse_lines(text.splitlines(), str(path), comments=True)


def load_accounts(store: Store, accounts: Iterable[Account]) -> int:
    """Add (or update the password of) each account; returns how many."""
    count = 0
    for user_id, password in accounts:
        store.add_account(user_id, password)
        count += 1
    return count


def configure_logging(
    stream: TextIO | None = None, level: int = logging.INFO, writer: LogWriter | None = None
) -> None:
    """Send the records of ``regenkey.server``, uvicorn and asyncio to ``stream``
    (stderr), through ``writer`` (made for ``stream`` if not given): a log
    nobody reads never blocks the server (:mod:`reference_impl.server.logwriter`)."""
    if any(isinstance(h, LogHandler) for h in LOGGER.handlers):
        return
    handler = LogHandler(writer or LogWriter(stream or sys.stderr))
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    for logger in (LOGGER, logging.getLogger("uvicorn"), logging.getLogger("asyncio")):
        logger.addHandler(handler)
        logger.propagate = False
    LOGGER.setLevel(level)


def url_for(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: one ephemeral port). Raises OSError."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    # An explicit IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that
    # name it (socket.create_server's proto 0 costs 40 ms per request).
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    """uvicorn, announcing the real address once it listens."""

    def __init__(self, config: uvicorn.Config, host: str, announce: TextIO) -> None:
        super().__init__(config)
        self._host = host
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:
            return
        listening = self.servers[0].sockets
        port = int(listening[0].getsockname()[1])
        print(READY_LINE.format(url=url_for(self._host, port)), file=self._announce, flush=True)


def serve(
    host: str,
    port: int,
    store: Store,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    announce: TextIO | None = None,
    log: bool = True,
    limits: Limits | None = None,
) -> None:
    """Serve the reference app on ``host:port`` until stopped.

    When it listens it prints exactly one line to ``announce`` (stderr)::

        regenkey reference server listening on http://HOST:PORT

    with the actual port when ``port`` is 0 (IPv6 hosts in brackets).
    Raises OSError when the address cannot be bound. The caller owns (and
    closes) ``store``. ``limits`` bound the connections (default
    :class:`~reference_impl.server.connections.Limits`: a 10 s request
    deadline, a cap sized from the file-descriptor limit).
    """
    access_log = BufferedLines(sys.stderr) if log else to_logger
    if isinstance(access_log, BufferedLines):
        configure_logging(writer=access_log.writer)
    sock = bind(host, port)
    config = uvicorn.Config(
        build_app(store, max_body=max_body, access_log=access_log),
        access_log=False,
        log_config=None,
        log_level="warning",
        lifespan="off",
        http=http_protocol(limits or Limits()),
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = _Server(config, host, announce or sys.stderr)
    # Everything loaded so far (the spec, its validators, the libraries) lives
    # as long as the process: keep it out of the garbage collector's scans.
    gc.collect()
    gc.freeze()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if isinstance(access_log, BufferedLines):
            access_log.close()
