"""Correct but unusual servers: the reference app, changed only where the page allows.

Issue 15's acceptance lists what a conformant server may do that the reference
server does not: any legal response framing (close-delimited, chunked, 103
Early Hints first, gzip), media-type parameters in any letter case, JSON
escapes and any member order, XML without a declaration or with CRLF and
character references, CRLF after plain bodies, any error code and reason text
(``& < > "`` and UTF-8 included), errors under 4xx, random keys that are not
UUIDs (RK-KEY-002, a SHOULD, is all that may report), slow password hashing.
Beyond the list: an HTTP/1.0 answer, a connection closed after every answer
without ``Connection: close`` (legal, and a false ERROR of the kit's until
conformance/transport/exchange.py waited for it), chunk extensions and
trailers, a BOM, CDATA, comments and a processing instruction in XML, JSON
written ASCII-only. The kit asks for ``Accept-Encoding: identity``, so "gzip
when asked" is served as gzip on every answer, which a client must read too.

The correct variants that were there before are in tests/servers/broken.py
(CORRECT: compact and reordered renderings, charset parameters, extra
headers, ``Connection: close``, errors as 4xx and as 422 with code 999).

Body and header variants are ASGI middlewares (tests/servers/breaker.py);
framing is below ASGI, so :func:`reframing` is a real socket proxy in front of
the app that re-sends each answer in the framing asked for. :func:`run_suite`
serves one of them and runs the server suite, as ``check-server`` does.
"""

from __future__ import annotations

import gzip
import http.client
import itertools
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any

from conformance import Format, Redactor
from conformance.judging.results import RunResult, Status
from conformance.protocol.records import XML_ROOTS, xml_children
from conformance.server.runner import Account, ServerSuiteConfig, Target, run_server_suite
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from reference_impl.server.store import AccountId
from tests.reliability.proxy import read_request
from tests.servers.breaker import ASGI, Breaker, Req, Resp
from tests.servers.broken import (
    PLAIN_USER,
    TRICKY_USER,
    Accounts,
    response_fault,
)

Make = Callable[[MemoryStore, Accounts], ASGI]
FRAMINGS = (
    "length",
    "length-then-close",
    "close",
    "http/1.0",
    "chunked",
    "early-hints",
    "gzip",
    "gzip-chunked",
)
LIFETIME = 120.0  # no proxy connection outlives this, whatever the test does


# --- running the suite ------------------------------------------------------------------


def run_suite(
    make: Make,
    *,
    store: MemoryStore | None = None,
    framing: str | None = None,
    seed: int = 20261202,
    examples: int = 25,  # check-server's default
    key_given: bool = False,
    rewrite: Callable[[bytes], bytes] | None = None,
) -> RunResult:
    """Serve ``make``'s app on 127.0.0.1 (behind :func:`reframing` when ``framing``
    is given, which applies ``rewrite`` to each raw request) with the two
    throwaway accounts and judge it strictly."""
    store = store or MemoryStore()
    draw = random.Random(seed)  # the same seed, the same passwords: the same requests
    plain, tricky = f"{draw.getrandbits(48):012x}", f"{draw.getrandbits(24):06x}"
    accounts = Accounts(f"Sandbox-{plain}", f"Tr1cky {tricky}+&=%41ü")
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    api_key = store.rotate(PLAIN_USER) if key_given else None
    with ExitStack() as stack:
        base_url = stack.enter_context(serving(make(store, accounts)))
        if framing is not None:
            base_url = stack.enter_context(reframing(base_url, framing, rewrite))
        config = ServerSuiteConfig(
            target=Target(base_url=base_url),
            account=Account(PLAIN_USER, accounts.plain_password, api_key),
            tricky=Account(TRICKY_USER, accounts.tricky_password),
            seed=seed,
            max_examples=examples,
            strict=True,
        )
        return run_server_suite(config, Redactor())


def reported(result: RunResult) -> set[str]:
    """The ids the run failed, MUSTs and SHOULDs (the run is strict)."""
    bad = (Status.FAIL, Status.NON_STRICT)
    return {r.id for r in result.requirements.values() if r.status in bad}


def evidence(result: RunResult, ids: set[str]) -> dict[str, list[str]]:
    """What the run said about ``ids``: two failures each, for an assertion message."""
    out: dict[str, list[str]] = {}
    for rid in sorted(ids):
        if rid in result.requirements:
            failures = result.requirements[rid].failures[:2]
            out[rid] = [f"{f.message} | {f.actual}" for f in failures]
            out[rid] += result.requirements[rid].skip_reasons[:2]
    return out


# --- framing below ASGI -----------------------------------------------------------------


def _forward(
    backend: tuple[str, int], request: bytes
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    method = request.split(b" ", 1)[0].decode("latin-1")
    with socket.create_connection(backend, timeout=30) as sock:
        sock.sendall(request)
        answer = http.client.HTTPResponse(sock, method=method)
        answer.begin()
        body = answer.read()
        return answer.status, answer.reason, answer.getheaders(), body


def _reframed(
    framing: str, head_only: bool, answer: tuple[int, str, list[tuple[str, str]], bytes]
) -> bytes:
    status, reason, headers, body = answer
    skip = {"content-length", "transfer-encoding", "connection", "date", "server"}
    version = "HTTP/1.0" if framing == "http/1.0" else "HTTP/1.1"
    lines = [f"{version} {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in skip]
    prefix = b""
    if framing == "early-hints":
        hint = b"HTTP/1.1 103 Early Hints\r\nLink: </openapi.yaml>; rel=preload\r\n\r\n"
        prefix = b"HTTP/1.1 100 Continue\r\n\r\n" + hint * 2
        lines.append(f"Content-Length: {len(body)}")
    elif framing == "gzip":
        body = gzip.compress(body)
        lines += ["Content-Encoding: gzip", "Vary: Accept-Encoding", f"Content-Length: {len(body)}"]
    elif framing == "gzip-chunked":
        body = gzip.compress(body)
        lines += ["Content-Encoding: gzip", "Transfer-Encoding: chunked"]
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:9], body[9:]) if p)
        body += b"0\r\n\r\n"
    elif framing in ("length", "length-then-close"):
        lines.append(f"Content-Length: {len(body)}")
    elif framing in ("close", "http/1.0"):
        lines.append("Connection: close")
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        if not head_only:  # pieces of 5 bytes, a chunk extension, a trailer
            pieces = [body[i : i + 5] for i in range(0, len(body), 5)]
            body = b"".join(
                b"%04X;piece=%d\r\n%s\r\n" % (len(p), n, p) for n, p in enumerate(pieces)
            )
            body += b"0\r\nX-Checksum: none\r\n\r\n"
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return prefix + head + (b"" if head_only else body)


@contextmanager
def reframing(
    backend_url: str, framing: str, rewrite: Callable[[bytes], bytes] | None = None
) -> Iterator[str]:
    """A proxy on 127.0.0.1 that answers every request with the backend's answer
    re-sent in ``framing``: ``length`` (a Content-Length; ``length-then-close``
    closes the connection after each answer without saying so), ``close`` (no length, the
    connection closes after the body; ``http/1.0`` the same under an HTTP/1.0 status
    line), ``chunked`` (5-byte chunks with extensions, and a trailer), ``early-hints``
    (a 100 and two 103 answers first), ``gzip`` (Content-Encoding: gzip on every body)
    or ``gzip-chunked`` (both).
    ``rewrite`` sees each raw request first (a header's spelling survives here)."""
    assert framing in FRAMINGS, framing
    host, port = backend_url.removeprefix("http://").split(":")
    backend = (host, int(port))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def serve(client: socket.socket) -> None:
        client.settimeout(30)
        buffer = bytearray()
        until = time.monotonic() + LIFETIME
        with client, suppress(OSError):
            while not stop.is_set() and time.monotonic() < until:
                request = read_request(client, buffer)
                if request is None:
                    return
                head_only = request.startswith(b"HEAD ")
                if rewrite is not None:
                    request = rewrite(request)
                client.sendall(_reframed(framing, head_only, _forward(backend, request)))
                if (
                    framing in ("close", "http/1.0", "length-then-close")
                    or b"\r\nconnection: close" in request.lower()
                ):
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=serve, args=(client,), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(timeout=5)
        listener.close()
        for thread in threads:
            thread.join(timeout=5)


# --- body and header variants -----------------------------------------------------------


def _media_any_case(req: Req, resp: Resp) -> None:
    """Media types and their parameters in any letter case, a quoted charset."""
    media = {
        Format.JSON: b'Application/JSON; Charset="UTF-8"',
        Format.XML: b"TEXT/XML;CHARSET=utf-8",
        Format.PLAIN: b"text/Plain ; charset=US-ASCII",
    }[resp.fmt]
    others = [(k, v) for k, v in resp.headers if k.lower() != b"content-type"]
    resp.headers = [*others, (b"content-type", media)]


def _u(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _json_escapes(req: Req, resp: Resp) -> None:
    """Member names and values written with ``\\u`` escapes, space before ``:``,
    members reversed."""
    record = resp.record
    if record is None or resp.fmt is not Format.JSON:
        return
    members = [("status", record.status), ("statusCode", record.status_code)]
    members += [("reason", record.reason)]
    if record.api_key:
        members.insert(1, ("apiKey", record.api_key))
    parts = [
        f'"{_u(name[:2])}{name[2:]}" : "{value[:1]}{_u(value[1:3])}{value[3:]}"'
        for name, value in reversed(members)
    ]
    resp.body = ("{\r\n\t" + ",\r\n\t".join(parts) + "\r\n}").encode()


def _refs(text: str) -> str:
    return (
        "".join(f"&#{ord(c)};" if i % 2 else f"&#x{ord(c):x};" for i, c in enumerate(text[:3]))
        + text[3:]
    )


def _xml_crlf_refs(req: Req, resp: Resp) -> None:
    """No declaration on successes, a declaration on errors; CRLF line ends;
    every value begun with character references."""
    record = resp.record
    if record is None or resp.fmt is not Format.XML:
        return
    root = XML_ROOTS[record.is_success]
    members = xml_children(record)
    inner = "".join(f"\r\n  <{n}>{_refs(v)}</{n}>" for n, v in members)
    declaration = "" if record.is_success else '<?xml version="1.0" encoding="UTF-8"?>\r\n'
    resp.body = f"{declaration}<{root}>{inner}\r\n</{root}>\r\n".encode()


def _plain_crlf(req: Req, resp: Resp) -> None:
    if resp.fmt is Format.PLAIN:
        resp.body = resp.body.rstrip(b"\r\n") + b"\r\n"


_CODES = itertools.cycle(["000", "123", "401", "899", "901", "999"])
_STATUSES = itertools.cycle([200, 400, 401, 403, 404, 409, 418, 422, 451])
SPECIAL_REASON = (
    "refused: a & b < c > d \"quoted\" \u2013 ünïcödé → ✓ 😀 a/b \\ c = 'd' status=success"
)


def _any_error(req: Req, resp: Resp) -> None:
    """Errors with any three-digit code but 900, any 4xx (or 200), and a reason
    holding ``& < > "`` and non-ASCII, escaped as each format escapes."""
    record = resp.record
    if record is None or record.is_success:
        return
    resp.render(replace(record, status_code=next(_CODES), reason=SPECIAL_REASON))
    if resp.status != 405:  # RK-HTTP-008 wants 405 for a method the endpoint does not take
        resp.status = next(_STATUSES)
    for i, (name, value) in enumerate(resp.headers):
        if name.lower() == b"content-type" and b"charset" not in value.lower():
            resp.headers[i] = (name, value + b"; charset=utf-8")


def _xml_bom_cdata(req: Req, resp: Resp) -> None:
    """A UTF-8 byte-order mark, a comment, CDATA sections and the predefined
    entities: one document to any XML reader."""
    record = resp.record
    if record is None or resp.fmt is not Format.XML:
        return
    root = XML_ROOTS[record.is_success]

    def text(value: str) -> str:
        half = len(value) // 2
        entities = value[half:].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        entities = entities.replace('"', "&quot;").replace("'", "&apos;")
        return f"<![CDATA[{value[:half]}]]>{entities}" if half else entities

    inner = "".join(f"<{n}>{text(v)}</{n}><!-- {n} -->" for n, v in xml_children(record))
    body = "<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n<!-- regenkey -->\n"
    body += '<?xml-stylesheet type="text/xsl" href="style.xsl"?>\n'
    resp.body = b"\xef\xbb\xbf" + f"{body}<{root} >{inner}</{root} >\n".encode()


def _json_ascii_only(req: Req, resp: Resp) -> None:
    """JSON written ASCII-only: every non-ASCII character ``\\u``-escaped (surrogate
    pairs beyond the BMP), ``/`` as ``\\/``, members sorted, no white space."""
    import json

    record = resp.record
    if record is None or resp.fmt is not Format.JSON:
        return
    members = {"status": record.status, "statusCode": record.status_code, "reason": record.reason}
    if record.api_key:
        members["apiKey"] = record.api_key
    text = json.dumps(members, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    resp.body = text.replace("/", "\\/").encode()


def _plain_trailing_space(req: Req, resp: Resp) -> None:
    if resp.fmt is Format.PLAIN:
        resp.body = resp.body.rstrip() + b" \t\r\n"


def _special_everywhere(req: Req, resp: Resp) -> None:
    _any_error(req, resp)
    _json_ascii_only(req, resp)
    _xml_bom_cdata(req, resp)


@dataclass
class Chunked:
    """Every answer without a Content-Length, in several body messages: the ASGI
    server sends it chunked."""

    app: ASGI

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def pieces(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"
                ]
                await send({**message, "headers": headers})
            elif message["type"] == "http.response.body" and message.get("body"):
                body = message["body"]
                for i in range(0, len(body), 7):
                    await send(
                        {"type": "http.response.body", "body": body[i : i + 7], "more_body": True}
                    )
                if not message.get("more_body"):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        await self.app(scope, receive, pieces)


# --- keys ---------------------------------------------------------------------------------


@dataclass
class DisguisedKeys:
    """Every key the app issues is shown as ``disguise(n, key)`` (n counts keys);
    a shown key that comes back (header, query or body) is mapped to the real one,
    so the disguised keys work, and are revoked, exactly as the real ones."""

    disguise: Callable[[int, str], str]
    shown: dict[str, str] = field(default_factory=dict)

    def make(self, store: MemoryStore, accounts: Accounts) -> ASGI:
        return Breaker(build_app(store), on_request=self._in, on_response=self._out)

    def _in(self, req: Req) -> Resp | None:
        key = req.header("apikey")
        if key in self.shown:
            req.set_header("apiKey", self.shown[key])
        for shown, real in self.shown.items():
            if req.mentions(shown):
                req.replace(shown, real)
        return None

    def _out(self, req: Req, resp: Resp) -> None:
        record = resp.record
        if record is not None and record.is_success and record.api_key:
            shown = self.disguise(len(self.shown), record.api_key)
            self.shown[shown] = record.api_key
            resp.body = resp.body.replace(record.api_key.encode(), shown.encode())


def random_not_uuid(n: int, key: str) -> str:
    """32 random hex digits, every one uniform (no version or variant nibble): random,
    but not a UUID (one key in 32 happens to look like one; a run sees many keys)."""
    return secrets.token_hex(16)


class SlowStore(MemoryStore):
    """Every password check costs 60 ms, right or wrong, as a real hash without a cache would."""

    def authenticate_credentials(self, user_id: str, password: str) -> AccountId | None:
        time.sleep(0.06)
        return super().authenticate_credentials(user_id, password)


@dataclass(frozen=True)
class UnknownMethod:
    """An extension method (``FOO``) refused with ``status`` before the app sees
    it: 501 as RFC 9110 section 9.1 asks (PHP's built-in server), or 400 as
    Node's HTTP parser does (RK-HTTP-008, RK-SAFE-001)."""

    app: ASGI
    status: int

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in (
            "GET",
            "HEAD",
            "POST",
            "PUT",
            "DELETE",
            "PATCH",
            "OPTIONS",
        ):
            await self.app(scope, receive, send)
            return
        body = b"Not Implemented" if self.status == 501 else b"Bad Request"
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class Unusual:
    name: str
    make: Make
    framing: str | None = None
    allowed: frozenset[str] = frozenset()  # the SHOULDs it may report (NON-STRICT)
    store: Callable[[], MemoryStore] = MemoryStore


def _reference(store: MemoryStore, accounts: Accounts) -> ASGI:
    return build_app(store)


UNUSUAL: list[Unusual] = [
    Unusual("close-delimited", _reference, framing="close"),
    Unusual("http-1.0-close-delimited", _reference, framing="http/1.0"),
    Unusual("closes-after-each-answer-unannounced", _reference, framing="length-then-close"),
    Unusual("chunked-below-asgi", _reference, framing="chunked"),
    Unusual("chunked-by-the-asgi-server", lambda store, accounts: Chunked(build_app(store))),
    Unusual("gzip-every-body", _reference, framing="gzip"),
    Unusual("gzip-and-chunked", _reference, framing="gzip-chunked"),
    Unusual("early-hints", _reference, framing="early-hints"),
    Unusual("media-type-any-case", response_fault(_media_any_case)),
    Unusual("json-u-escapes-any-order", response_fault(_json_escapes)),
    Unusual("xml-crlf-char-refs", response_fault(_xml_crlf_refs)),
    Unusual("plain-crlf", response_fault(_plain_crlf)),
    Unusual("any-error-code-status-reason", response_fault(_any_error)),
    Unusual("errors-special-json-ascii-xml-bom-cdata", response_fault(_special_everywhere)),
    Unusual("plain-trailing-white-space", response_fault(_plain_trailing_space)),
    Unusual(
        "non-uuid-random-keys",
        DisguisedKeys(random_not_uuid).make,
        allowed=frozenset({"RK-KEY-002"}),
    ),
    Unusual("slow-password-hashing", _reference, store=SlowStore),
    Unusual("unknown-method-501", lambda store, accounts: UnknownMethod(build_app(store), 501)),
    Unusual("unknown-method-400", lambda store, accounts: UnknownMethod(build_app(store), 400)),
]
