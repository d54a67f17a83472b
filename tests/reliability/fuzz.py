"""Generated requests for the fuzz test: valid, malformed, oversized, wrong
types, odd encodings and random bytes, drawn from a seeded ``random.Random``.

Each case says whether it is well framed (the connection may be kept alive)
and whether the server may close without answering (a body cut short).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from tests.reliability.raw import http_request

PATH = "/SMSApi/rest/regenerateAPIKey"
FORM = "application/x-www-form-urlencoded"
OVER_LIMIT = 64 * 1024 + 1


@dataclass(frozen=True)
class Case:
    kind: str
    data: bytes
    framed: bool = True  # a complete, well-framed request: keep-alive is fine
    may_close: bool = False  # the server may close without a response
    rotates: bool = False  # valid credentials: a real regeneration
    half_close: bool = False  # the client shuts its side after sending (a body cut short)


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str


WEIRD_TEXT = [
    "",
    " ",
    "+",
    "%",
    "%zz",
    "%ff%fe",
    "%00",
    "\x00",
    "ü",
    "€",
    "😀",
    "\ud800",
    "a" * 300,
    "<x/>",
    "&amp;",
    "' OR 1=1 --",
    "${jndi:x}",
    "\r\n",
    "null",
    "[]",
    "{}",
    "true",
    "-1",
    "1e999",
    "NaN",
]
FORMATS = ["json", "xml", "plain", "JSON", "Xml", "", "html", "json ", "1", "[]", "json\x00"]
METHODS = [
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "HEAD",
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "get",
    "P0ST",
    "X" * 40,
]
PATHS = [
    PATH,
    PATH + "/",
    PATH.lower(),
    PATH + "%20",
    "/",
    "/SMSApi",
    "//SMSApi/rest/regenerateAPIKey",
    "/SMSApi/rest/regenerateAPIKey;x",
    "/openapi.yaml",
    "/%2e%2e/etc/passwd",
    "/SMSApi/rest/%72egenerateAPIKey",
    "/" + "a" * 2000,
    "/\x7f",
    "/%ff",
    "*",
]
CONTENT_TYPES = [
    FORM,
    FORM + "; charset=utf-8",
    FORM + "; charset=latin-1",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=" + "b" * 300,
    "application/xml",
    "text/xml; charset=utf-16",
    "application/json",
    "text/plain",
    "",
    ";;;",
    "application/x-www-form-urlencoded;;boundary=x",
    "*/*",
    "application/xml; charset=ebcdic",
]


def _text(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(WEIRD_TEXT)
    alphabet = "abcXYZ019 -_.~!*'();:@&=+$,/?#[]%\"<>\\^`{|}ü€\t"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))


def _fields(rng: random.Random, account: Account, real: bool) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    if real:
        fields += [("userId", account.user_id), ("password", account.password)]
    elif rng.random() < 0.15:  # wrong credentials: costs the server a password hash
        fields += [
            ("userId", rng.choice([account.user_id, "nobody", _text(rng)])),
            ("password", _text(rng) or "x"),
        ]
    else:
        for name in rng.sample(
            [
                "userId",
                "password",
                "userid",
                "USERID",
                "user_id",
                "Password",
                "apiKey",
                "format[]",
                "userId[]",
                "",
                "=",
                "a" * 100,
            ],
            2,
        ):
            fields.append((name, _text(rng)))
    if rng.random() < 0.9:
        fields.append(("format", rng.choice(FORMATS)))
    rng.shuffle(fields)
    return fields


def _urlencoded(rng: random.Random, fields: list[tuple[str, str]]) -> bytes:
    if rng.random() < 0.8:
        return urlencode(fields, errors="surrogatepass").encode("ascii")
    # hand-made: raw characters, stray separators, bad escapes
    parts = [f"{n}={v}" if rng.random() < 0.8 else n for n, v in fields]
    text = rng.choice(["&", "&&", ";", "&amp;"]).join(parts)
    return text.encode("utf-8", "surrogatepass") + rng.choice([b"", b"%", b"%f", b"\xff", b"&"])


def _multipart(rng: random.Random, fields: list[tuple[str, str]]) -> tuple[str, bytes]:
    boundary = rng.choice(["b0undary", "x" * 70, "--", "a b", uuid.uuid4().hex])
    out = bytearray()
    for name, value in fields:
        out += f"--{boundary}\r\n".encode()
        disposition = rng.choice(
            [
                f'form-data; name="{name}"',
                f"form-data; name={name}",
                "form-data",
                f'form-data; name="{name}"; filename="f.txt"',
                "attachment",
            ]
        )
        out += f"Content-Disposition: {disposition}\r\n".encode("utf-8", "surrogatepass")
        if rng.random() < 0.2:
            out += b"Content-Type: text/plain; charset=latin-1\r\n"
        out += b"\r\n" + value.encode("utf-8", "surrogatepass") + b"\r\n"
    if rng.random() < 0.85:
        out += f"--{boundary}--\r\n".encode()
    media = rng.choice(
        [
            f"multipart/form-data; boundary={boundary}",
            f'multipart/form-data; boundary="{boundary}"',
            "multipart/form-data",
            "multipart/mixed; boundary=" + boundary,
        ]
    )
    return media, bytes(out)


def _xml(rng: random.Random, fields: list[tuple[str, str]]) -> bytes:
    inner = "".join(f"<{n or 'x'}>{v}</{n or 'x'}>" for n, v in fields)
    doc = rng.choice(
        [
            f"<Account>{inner}</Account>",
            f"<?xml version='1.0'?><Account>{inner}</Account>",
            f"<Account xmlns='urn:x'>{inner}</Account>",
            f"<account>{inner}</account>",
            f"<Account>{inner}",
            f"<Account><![CDATA[{inner}]]></Account>",
            f"<!-- c --><Account>{inner}<?pi x?></Account>",
            f"<!DOCTYPE Account><Account>{inner}</Account>",
            f"<Account a='{rng.random()}'>{inner}</Account>",
        ]
    )
    encoding = rng.choice(["utf-8", "utf-8", "utf-16", "latin-1", "utf-8-sig"])
    return doc.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")


def _valid(rng: random.Random, account: Account, real: bool) -> Case:
    fields = _fields(rng, account, real)
    headers: list[tuple[str, str]] = []
    if not real and rng.random() < 0.3:
        name = rng.choice(["apiKey", "apikey", "APIKEY", "api-key", "apiKey "])
        headers.append((name, rng.choice([uuid.uuid4().hex, "", _text(rng).strip()])))
    shape = rng.choice(["query", "form", "multipart", "xml", "post-query"])
    if shape == "query":
        target = PATH + "?" + _urlencoded(rng, fields).decode("latin-1")
        return Case("get-query", http_request("GET", target, headers), rotates=real)
    if shape == "post-query":
        target = PATH + "?" + _urlencoded(rng, fields).decode("latin-1")
        return Case("post-query", http_request("POST", target, headers), rotates=real)
    if shape == "form":
        body = _urlencoded(rng, fields)
        media = rng.choice([FORM, FORM + "; charset=UTF-8", FORM.upper()])
        return Case(
            "post-form",
            http_request("POST", PATH, [*headers, ("Content-Type", media)], body),
            rotates=real,
        )
    if shape == "multipart":
        media, body = _multipart(rng, fields)
        data = http_request("POST", PATH, [*headers, ("Content-Type", media)], body)
        return Case("post-multipart", data, rotates=real)
    media = rng.choice(["application/xml", "text/xml", "application/xml; charset=utf-8"])
    data = http_request("POST", PATH, [*headers, ("Content-Type", media)], _xml(rng, fields))
    return Case("post-xml", data, rotates=real)


def _odd_framing(rng: random.Random, account: Account) -> Case:
    body = urlencode(_fields(rng, account, False), errors="surrogatepass").encode()
    head = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n"
    choice = rng.randrange(9)
    if choice == 0:  # chunked, well formed
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:5], body[5:]) if c)
        return Case(
            "chunked",
            (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks + b"0\r\n\r\n",
        )
    if choice == 1:  # chunked with a bad size
        return Case(
            "bad-chunk",
            (head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n").encode(),
            framed=False,
            may_close=True,
        )
    if choice == 2:  # both framings
        return Case(
            "te-and-cl",
            (head + f"Transfer-Encoding: chunked\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            + body,
            framed=False,
            may_close=True,
            half_close=True,
        )
    if choice == 3:  # a body cut short, then the client half-closes
        data = (head + f"Content-Length: {len(body) + 50}\r\n\r\n").encode() + body
        return Case("truncated", data, framed=False, may_close=True, half_close=True)
    if choice == 4:  # Content-Length nonsense
        value = rng.choice(["-1", "abc", "1e3", " 5", "5, 5", "99999999999999999999", ""])
        return Case(
            "bad-length",
            (head + f"Content-Length: {value}\r\n\r\n").encode(),
            framed=False,
            may_close=True,
            half_close=True,
        )
    if choice == 5:  # HTTP/1.0, no Host
        return Case("http10", f"GET {PATH}?format=json HTTP/1.0\r\n\r\n".encode(), framed=False)
    if choice == 6:  # HTTP/2 preface on an HTTP/1.1 port
        return Case("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", framed=False, may_close=True)
    if choice == 7:  # Expect: 100-continue
        return Case(
            "expect",
            (head + f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body,
        )
    # obsolete line folding and header names that are not tokens
    return Case(
        "bad-header",
        (head + "X-Folded: a\r\n b\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n").encode(),
        framed=False,
        may_close=True,
    )


def _wrong_types(rng: random.Random, account: Account) -> Case:
    bodies = [
        (
            b"application/json",
            b'{"userId": "%s", "password": 1, "format": ["json"]}' % account.user_id.encode(),
        ),
        (FORM.encode(), b"userId[]=a&userId[]=b&format[0]=json&password=%00"),
        (FORM.encode(), b"format=json&format=xml&format=plain&userId=&password="),
        (FORM.encode(), b"userId=" + b"9" * 400 + b"&password=" + b"\xff" * 8 + b"&format=json"),
        (b"text/plain", b"userId=a&password=b"),
        (b"application/octet-stream", bytes(rng.randrange(256) for _ in range(64))),
        (
            b"application/x-www-form-urlencoded; charset=utf-16",
            "userId=a&password=b&format=json".encode("utf-16"),
        ),
        (b"application/xml", "<Account><userId>a</userId></Account>".encode("utf-16-le")),
        (b"application/xml", b"\xef\xbb\xbf<Account><userId>\xc3\x28</userId></Account>"),
        (
            b"multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="userId"\r\n\r\n\xff\xfe\r\n--x--\r\n',
        ),
    ]
    media, body = rng.choice(bodies)
    head = f"{rng.choice(['POST', 'GET'])} {PATH}?format={rng.choice(FORMATS)} HTTP/1.1\r\n"
    data = (
        (head + f"Host: x\r\nContent-Length: {len(body)}\r\n").encode() + b"Content-Type: " + media
    )
    return Case("wrong-type", data + b"\r\n\r\n" + body)


def _odd_request_line(rng: random.Random) -> Case:
    method, path = rng.choice(METHODS), rng.choice(PATHS)
    query = rng.choice(["", "?", "?format=json", "?%", "?a=%ff", "?" + "&" * 200, "?format=\x01"])
    headers = [
        (
            rng.choice(["X-A", "Accept", "Cookie", "Authorization", "Range", "Origin"]),
            _text(rng).replace("\r", "").replace("\n", ""),
        )
    ]
    data = http_request(method, path + query, headers, b"", content_length=False)
    return Case("request-line", data, framed=method != "HEAD", may_close=True)


def _oversized(rng: random.Random) -> Case:
    choice = rng.randrange(3)
    if choice == 0:
        body = b"userId=" + b"a" * OVER_LIMIT
        return Case(
            "big-body",
            http_request("POST", PATH, [("Content-Type", FORM)], body),
            framed=False,
            may_close=True,
        )
    if choice == 1:
        return Case(
            "big-header",
            http_request("GET", PATH, [("X-Big", "h" * 40_000)]),
            framed=False,
            may_close=True,
        )
    return Case(
        "big-url",
        http_request("GET", PATH + "?format=" + "u" * 40_000),
        framed=False,
        may_close=True,
    )


def _random_bytes(rng: random.Random) -> Case:
    size = rng.choice([1, 8, 64, 512, 4096])
    noise = bytes(rng.randrange(256) for _ in range(size))
    if rng.random() < 0.5:  # noise after a plausible start
        noise = f"POST {PATH} HTTP/1.1\r\nHost: x\r\n".encode() + noise
    return Case("random-bytes", noise + b"\r\n\r\n", framed=False, may_close=True)


Generator = Callable[[random.Random, Account], Case]

MIX: list[tuple[float, Generator]] = [
    (0.45, lambda rng, acc: _valid(rng, acc, real=False)),
    (0.003, lambda rng, acc: _valid(rng, acc, real=True)),
    (0.12, _odd_framing),
    (0.15, _wrong_types),
    (0.15, lambda rng, _acc: _odd_request_line(rng)),
    (0.017, lambda rng, _acc: _oversized(rng)),
    (0.11, lambda rng, _acc: _random_bytes(rng)),
]


def generate(rng: random.Random, account: Account) -> Case:
    """One case, drawn by the weights of :data:`MIX`."""
    point = rng.random() * sum(w for w, _ in MIX)
    for weight, make in MIX:
        point -= weight
        if point <= 0:
            return make(rng, account)
    return MIX[0][1](rng, account)


def quote_all(text: str) -> str:
    return quote(text, safe="")
