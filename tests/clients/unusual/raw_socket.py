"""Correct but unusual clients of the adapter contract in --raw mode (issue 16),
written on raw sockets so that every byte is chosen: `python raw_socket.py MODE`.

account-cdata   the page's <Account> body after a UTF-8 byte-order mark, every
                value in CDATA (a "]]>" in a value split across two sections)
account-charrefs  the <Account> body with every value character a reference
account-utf16   the <Account> body in UTF-16 with its byte-order mark (as .NET's
                StringWriter writes it), labelled charset=utf-16
bare-multipart  multipart/form-data with bare-token names and boundary (RFC 7578)
multipart-preamble  multipart/form-data with a preamble before the first boundary
chunked-odd     the form body in chunks of 1-3 bytes, with chunk extensions and a trailer
http10-no-host  HTTP/1.0 with no Host header (HTTP/1.0 has none) and no keep-alive

It prints the body it received, de-chunked when the answer was chunked.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from urllib.parse import quote_plus, urlsplit

PATH = "/SMSApi/rest/regenerateAPIKey"
ENV = os.environ


def fields() -> list[tuple[str, str]]:
    if ENV.get("REGENKEY_API_KEY"):
        return [("format", ENV["REGENKEY_FORMAT"])]
    credentials = [("userId", ENV["REGENKEY_USER_ID"]), ("password", ENV["REGENKEY_PASSWORD"])]
    return [*credentials, ("format", ENV["REGENKEY_FORMAT"])]


def form() -> bytes:
    return "&".join(f"{n}={quote_plus(v)}" for n, v in fields()).encode()


def account(value: Callable[[str], str], encoding: str = "UTF-8") -> bytes:
    inner = "".join(f"<{n}>{value(v)}</{n}>" for n, v in fields())
    text = f"\ufeff<?xml version='1.0' encoding='{encoding}'?>\n<Account>{inner}</Account>"
    return text.encode("utf-16-le" if encoding == "UTF-16" else "utf-8")


def escaped(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def charrefs(value: str) -> str:
    return "".join(f"&#x{ord(c):X};" if i % 2 else f"&#{ord(c)};" for i, c in enumerate(value))


def multipart(preamble: bytes = b"") -> tuple[bytes, str]:
    boundary = "rk7BareBoundary"
    parts = [preamble] + [
        f"--{boundary}\r\nContent-Disposition: form-data; name={n}\r\n\r\n".encode()
        + v.encode()
        + b"\r\n"
        for n, v in fields()
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def chunked(body: bytes) -> bytes:
    out, i, sizes = bytearray(), 0, (1, 3, 2)
    while i < len(body):
        piece = body[i : i + sizes[i % 3]]
        out += f"{len(piece):x};piece={i}\r\n".encode() + piece + b"\r\n"
        i += len(piece)
    return bytes(out) + b"0\r\nX-Trailer: done\r\n\r\n"


def request(mode: str, host: str) -> bytes:
    version, head = "HTTP/1.1", [f"Host: {host}", "Connection: close"]
    ctype = "application/x-www-form-urlencoded"
    if mode == "account-cdata":
        body, ctype = account(cdata), "text/xml; charset=utf-8"
    elif mode == "account-charrefs":
        body, ctype = account(charrefs), "application/xml"
    elif mode == "account-utf16":
        body, ctype = account(escaped, "UTF-16"), "application/xml; charset=utf-16"
    elif mode == "bare-multipart":
        body, ctype = multipart()
    elif mode == "multipart-preamble":
        body, ctype = multipart(b"This is a MIME message; its parts follow.\r\n")
    elif mode in ("chunked-odd", "http10-no-host"):
        body = form()
    else:
        sys.exit(f"unknown mode: {mode}")
    if key := ENV.get("REGENKEY_API_KEY"):
        head.append(f"apiKey: {key}")
    head.append(f"Content-Type: {ctype}")
    if mode == "chunked-odd":
        head.append("Transfer-Encoding: chunked")
        body = chunked(body)
    else:
        head.append(f"Content-Length: {len(body)}")
    if mode == "http10-no-host":
        version, head = "HTTP/1.0", head[2:]
    lines = [f"POST {PATH} {version}", *head, "", ""]
    return "\r\n".join(lines).encode() + body


def dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2 :]


def main() -> None:
    target = urlsplit(ENV["REGENKEY_BASE_URL"])
    host, port = target.hostname or "127.0.0.1", target.port or 80
    received = bytearray()
    try:
        timeout = float(ENV.get("REGENKEY_CLIENT_TIMEOUT") or 5)  # the kit's deadline
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request(sys.argv[1], f"{host}:{port}"))
            while chunk := sock.recv(65536):
                received += chunk
    except OSError as exc:  # refused, reset or no answer in time: an error, said plainly
        sys.exit(f"regeneration failed: {exc.__class__.__name__}")
    if not received:
        sys.exit("regeneration failed: the connection closed without an answer")
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    while head.split(b" ", 2)[1:2] == [b"100"]:  # an interim answer first
        head, _, body = body.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    sys.stdout.buffer.write(body)


if __name__ == "__main__":
    main()
