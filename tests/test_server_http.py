"""The reference server over real HTTP on loopback: every request shape, the
key lifecycle, and hostile input (never a 5xx, never an echoed secret)."""

from __future__ import annotations

import itertools
import logging
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from conformance import (
    ENDPOINT_PATH,
    MEDIA_TYPES,
    Encoding,
    Format,
    Record,
    RequestSpec,
    build,
    render,
    spec_text,
    validate_body,
)
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, SqliteStore, Store, build_app
from reference_impl.server import app as app_module
from reference_impl.server import requests as requests_module

PASSWORD = "p a+s&s=w%41rd-ünï"
SECRETS = (PASSWORD, quote(PASSWORD, safe=""), quote_plus(PASSWORD))
ALL_ENCODINGS = [Encoding.QUERY, Encoding.FORM, Encoding.MULTIPART, Encoding.XML]


@dataclass
class Server:
    url: str
    store: Store
    client: httpx.Client
    ids: Iterator[int] = field(default_factory=itertools.count)

    def account(self) -> str:
        user = f"user-{next(self.ids)}"
        self.store.add_account(user, PASSWORD)
        return user

    def request(self, method: str, path: str = ENDPOINT_PATH, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, self.url + path, **kwargs)
        assert response.status_code < 500
        assert not any(secret in response.text for secret in SECRETS)
        return response

    def send(self, spec: RequestSpec, *, chunked: bool = False) -> httpx.Response:
        wire = build(self.url, spec)
        content: bytes | Iterator[bytes] = wire.body
        if chunked:
            content = iter([wire.body[:7], wire.body[7:]])
        path = wire.url.removeprefix(self.url)
        return self.request(wire.method, path, headers=list(wire.headers), content=content)

    def credentials(self, user: str, fmt: str | None = "json") -> tuple[tuple[str, str], ...]:
        return (("userId", user), ("password", PASSWORD)) + ((("format", fmt),) if fmt else ())

    def regenerate(self, spec: RequestSpec, fmt: Format = Format.JSON) -> str:
        return success(self.send(spec), fmt)

    def works(self) -> None:
        """The server still regenerates keys."""
        user = self.account()
        success(self.send(RequestSpec("POST", Encoding.FORM, self.credentials(user))), Format.JSON)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    store = MemoryStore()
    with serving(build_app(store)) as url, httpx.Client(timeout=10) as client:
        yield Server(url, store, client)


def success(response: httpx.Response, fmt: Format) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{MEDIA_TYPES[fmt]}; charset=utf-8"
    verdict = validate_body(response.content, fmt)
    assert verdict.ok, verdict.violations
    assert verdict.record is not None and verdict.record.api_key is not None
    return verdict.record.api_key


def refused(response: httpx.Response, fmt: Format = Format.PLAIN, *, status: int = 200) -> Record:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == f"{MEDIA_TYPES[fmt]}; charset=utf-8"
    verdict = validate_body(response.content, fmt)
    assert verdict.ok, verdict.violations
    assert verdict.record is not None and not verdict.record.is_success
    return verdict.record


# --- every request shape ------------------------------------------------------


@pytest.mark.parametrize("auth", ["credentials", "apiKey", "apikey"])
@pytest.mark.parametrize("spelling", ["plain", "json", "xml", "JSON", "Xml"])
@pytest.mark.parametrize("encoding", ALL_ENCODINGS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_request_shape_regenerates(
    server: Server, method: str, encoding: Encoding, spelling: str, auth: str
) -> None:
    user = server.account()
    fmt = Format.parse(spelling)
    assert fmt is not None
    old = None
    if auth == "credentials":
        spec = RequestSpec(method, encoding, server.credentials(user, spelling))
    else:
        old = server.store.rotate(user)
        spec = RequestSpec(method, encoding, (("format", spelling),), ((auth, old),))
    key = success(server.send(spec), fmt)
    assert server.store.authenticate_key(key) == user
    if old is not None:
        assert key != old and server.store.authenticate_key(old) is None


def test_key_lifecycle(server: Server) -> None:
    user = server.account()
    first = server.regenerate(RequestSpec("GET", Encoding.QUERY, server.credentials(user)))
    header = RequestSpec("POST", Encoding.FORM, (("format", "json"),), (("apiKey", first),))
    second = success(server.send(header), Format.JSON)
    assert second != first
    assert refused(server.send(header), Format.JSON).reason == "invalid apiKey"
    spec = RequestSpec("POST", Encoding.FORM, (), (("APIKEY", second),))
    third = server.regenerate(spec, Format.PLAIN)
    fourth = server.regenerate(RequestSpec("POST", Encoding.FORM, server.credentials(user)))
    assert len({first, second, third, fourth}) == 4
    assert server.store.authenticate_key(fourth) == user


def test_chunked_bodies_work(server: Server) -> None:
    user = server.account()
    for encoding in (Encoding.FORM, Encoding.MULTIPART, Encoding.XML):
        spec = RequestSpec("POST", encoding, server.credentials(user, "xml"))
        success(server.send(spec, chunked=True), Format.XML)


def test_get_with_content_type_and_empty_body_works(server: Server) -> None:
    user = server.account()
    for content_type in ("application/x-www-form-urlencoded", "application/json", "text/plain"):
        spec = RequestSpec(
            "GET", Encoding.QUERY, server.credentials(user), content_type=content_type
        )
        success(server.send(spec), Format.JSON)
        wire = build(server.url, spec)  # and an empty chunked body, as Node's req.write("") sends
        response = server.request("GET", wire.url.removeprefix(server.url),
                                  headers=list(wire.headers), content=iter([b""]))  # fmt: skip
        success(response, Format.JSON)


def test_body_wins_over_query_and_empty_values_fall_back(server: Server) -> None:
    user = server.account()
    wrong = {"userId": user, "password": "wrong", "format": "xml"}
    right = {"userId": user, "password": PASSWORD, "format": "json"}
    success(server.request("POST", params=wrong, data=right), Format.JSON)
    refused(server.request("POST", params=right, data=wrong), Format.XML)
    empty = {"userId": "", "password": "", "format": ""}
    success(server.request("POST", params=right, data=empty), Format.JSON)
    success(server.request("POST", params=right, files={"format": (None, "")}), Format.JSON)


# --- authentication -----------------------------------------------------------


def test_empty_api_key_header_beside_credentials_counts_as_absent(server: Server) -> None:
    user = server.account()
    for encoding in (Encoding.FORM, Encoding.QUERY, Encoding.MULTIPART):
        spec = RequestSpec("POST", encoding, server.credentials(user), (("apiKey", ""),))
        success(server.send(spec), Format.JSON)


def test_empty_fields_beside_the_header_count_as_absent(server: Server) -> None:
    user = server.account()
    key = server.store.rotate(user)
    params = (("userId", ""), ("password", ""), ("format", "json"))
    for encoding in (Encoding.MULTIPART, Encoding.FORM, Encoding.XML, Encoding.QUERY):
        key = server.regenerate(RequestSpec("POST", encoding, params, (("apikey", key),)))


def test_header_wins_over_credentials(server: Server) -> None:
    """RK-AUTH-009 is ours to choose: a non-empty header is used, credentials ignored."""
    user = server.account()
    key = server.store.rotate(user)
    params = (("userId", user), ("password", "wrong"), ("format", "json"))
    server.regenerate(RequestSpec("POST", Encoding.FORM, params, (("apiKey", key),)))
    spec = RequestSpec("POST", Encoding.FORM, server.credentials(user), (("apiKey", "bad"),))
    assert refused(server.send(spec), Format.JSON).reason == "invalid apiKey"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ((), "authentication required"),
        ((("userId", "{user}"),), "invalid credentials"),
        ((("password", PASSWORD),), "invalid credentials"),
        ((("userId", "{user}"), ("password", PASSWORD + "x")), "invalid credentials"),
        ((("userId", "{user}-nobody"), ("password", PASSWORD)), "invalid credentials"),
        ((("userId", PASSWORD), ("password", PASSWORD)), "invalid credentials"),
    ],
)
@pytest.mark.parametrize("fmt", list(Format))
def test_bad_credentials_are_refused_in_the_requested_format(
    server: Server, params: tuple[tuple[str, str], ...], reason: str, fmt: Format
) -> None:
    user = server.account()
    key = server.store.rotate(user)
    filled = (*((n, v.format(user=user)) for n, v in params), ("format", fmt.value))
    record = refused(server.send(RequestSpec("POST", Encoding.FORM, filled)), fmt)
    assert (record.reason, record.status_code) == (reason, "401")
    assert server.store.authenticate_key(key) == user


def test_bad_keys_are_refused(server: Server) -> None:
    user = server.account()
    revoked = server.store.rotate(user)
    current = server.store.rotate(user)
    for bad in (revoked, current.upper(), "0" * 32, "not-a-key", current + " x", "k" * 500):
        spec = RequestSpec("POST", Encoding.FORM, (("format", "xml"),), (("apiKey", bad),))
        response = server.send(spec)
        assert refused(response, Format.XML).reason == "invalid apiKey"
        assert current not in response.text
    response = server.request("POST", headers=[(b"apiKey", b"\xc3\xbc\xff")])
    assert refused(response).reason == "invalid apiKey"
    assert server.store.authenticate_key(current) == user


# --- format -------------------------------------------------------------------


def test_format_defaults_to_plain(server: Server) -> None:
    user = server.account()
    for fmt in (None, ""):
        params = server.credentials(user, None) + ((("format", fmt),) if fmt is not None else ())
        success(server.send(RequestSpec("POST", Encoding.FORM, params)), Format.PLAIN)


@pytest.mark.parametrize("junk", ["html", "jsonp", " json", "x", PASSWORD])
def test_unknown_format_is_refused_in_plain_without_rotation(server: Server, junk: str) -> None:
    user = server.account()
    key = server.store.rotate(user)
    for params, headers in ((server.credentials(user, None), ()), ((), (("apiKey", key),))):
        spec = RequestSpec("POST", Encoding.FORM, (*params, ("format", junk)), headers)
        record = refused(server.send(spec))
        assert record.status_code == "400" and "format" in record.reason
        assert server.store.authenticate_key(key) == user
    success(server.send(RequestSpec("GET", Encoding.QUERY, (), (("apiKey", key),))), Format.PLAIN)


# --- hostile and malformed input ----------------------------------------------

XML = "application/xml"
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
        for i in range(1, 10)
    )
    + b"]><Account><userId>&lol9;</userId></Account>"
)
DEEP = b"<Account><userId>" + b"<a>" * 4000 + b"</a>" * 4000 + b"</userId></Account>"
MULTI = "multipart/form-data; boundary=zz"
BAD_INPUT = [
    ("malformed xml", XML, b"<Account><userId>alice</Account>", "400"),
    ("billion laughs", XML, BOMB, "400"),
    ("external entity", "text/xml",
     b"<!DOCTYPE a [<!ENTITY b SYSTEM 'file:///etc/passwd'>]><Account><userId>&b;</userId></Account>",
     "400"),
    ("external dtd", XML, b'<!DOCTYPE Account SYSTEM "http://127.0.0.1:9/a.dtd"><Account/>', "400"),
    ("deep nesting", XML, DEEP, "400"),
    ("wrong root", XML, b"<Acct><userId>a</userId></Acct>", "400"),
    ("unknown child", XML, b"<Account><apiKey>x</apiKey></Account>", "400"),
    ("children out of order", XML, b"<Account><password>x</password><userId>a</userId></Account>",
     "400"),
    ("xml invalid utf-8", XML, b"<Account><userId>\xff</userId></Account>", "400"),
    ("xml latin1 label", "application/xml; charset=latin1", b"\xff\xfe\x00", "400"),
    ("multipart without boundary", "multipart/form-data",
     b'--zz\r\nContent-Disposition: form-data; name="userId"\r\n\r\na\r\n--zz--\r\n', "400"),
    ("multipart garbage", MULTI, b"garbage", "400"),
    ("multipart truncated", MULTI,
     b'--zz\r\nContent-Disposition: form-data; name="userId"\r\n\r\na', "400"),
    ("multipart invalid utf-8", MULTI,
     b'--zz\r\nContent-Disposition: form-data; name="userId"\r\n\r\n\xff\r\n--zz--\r\n', "400"),
    ("form invalid utf-8 escape", "application/x-www-form-urlencoded", b"userId=%FF&password=%FE",
     "400"),
    ("form raw bytes", "application/x-www-form-urlencoded", b"\xff\xfe\x00", "400"),
    ("form too many fields", "application/x-www-form-urlencoded",
     "&".join(f"f{i}=1" for i in range(500)).encode(), "400"),
    ("json body", "application/json", b'{"userId": "alice"}', "415"),
    ("no content type", None, b"userId=alice&password=x", "415"),
    ("octet stream", "application/octet-stream", b"\x00\x01", "415"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_gets_the_error_envelope(
    server: Server, content_type: str | None, body: bytes, code: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    started = time.monotonic()
    response = server.request("POST", headers=headers, content=body)
    assert time.monotonic() - started < 2
    assert refused(response).status_code == code
    server.works()


def test_unreadable_body_is_refused_in_the_format_the_query_asked_for(server: Server) -> None:
    response = server.request("POST", params={"format": "json"}, content=BOMB,
                              headers={"Content-Type": XML})  # fmt: skip
    assert refused(response, Format.JSON).status_code == "400"


def test_invalid_utf8_in_the_query_is_refused(server: Server) -> None:
    response = server.client.get(server.url + ENDPOINT_PATH + "?userId=%FF&format=json")
    assert refused(response).reason == "malformed query string"
    server.works()


def test_ten_megabyte_body_gets_413_quickly(server: Server) -> None:
    user = server.account()
    key = server.store.rotate(user)
    body = b"userId=" + b"a" * 10_000_000
    headers = {"Content-Type": "application/x-www-form-urlencoded", "apiKey": key}
    for content in (body, iter([body[i : i + 1_000_000] for i in range(0, len(body), 1_000_000)])):
        started = time.monotonic()
        response = server.request("POST", headers=headers, content=content)
        assert time.monotonic() - started < 5
        assert refused(response, status=413).status_code == "413"
    assert server.store.authenticate_key(key) == user
    server.works()


def test_body_limit_is_configurable() -> None:
    store = MemoryStore()
    store.add_account("alice", PASSWORD)
    with serving(build_app(store, max_body=128)) as url:
        form = {"userId": "alice", "password": PASSWORD}
        assert httpx.post(url + ENDPOINT_PATH, data=form).status_code == 200
        assert httpx.post(url + ENDPOINT_PATH, data={**form, "pad": "x" * 128}).status_code == 413
    with pytest.raises(ValueError):
        build_app(store, max_body=0)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO"])
def test_other_methods_get_405_with_allow(server: Server, method: str) -> None:
    user = server.account()
    response = server.request(method, params={"userId": user, "password": PASSWORD})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    if method != "HEAD":
        assert refused(response, status=405).status_code == "405"
    assert server.store.current_key_digest(user) is None


@pytest.mark.parametrize(
    "path",
    ["/", "/smsapi/rest/regenerateapikey", ENDPOINT_PATH + "/", ENDPOINT_PATH + "X",
     "/SMSApi/rest/regenerateApiKey", "/SMSApi/rest/regenerateAPIKey%0Ainjected"],
)  # fmt: skip
def test_other_paths_get_404(server: Server, path: str) -> None:
    user = server.account()
    response = server.request("POST", path, data={"userId": user, "password": PASSWORD})
    assert refused(response, status=404).reason == "not found"
    assert server.store.current_key_digest(user) is None


def test_openapi_document_is_served(server: Server) -> None:
    response = server.request("GET", "/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.text == spec_text("openapi.yaml")
    response = server.request("POST", "/openapi.yaml")
    assert refused(response, status=405).status_code == "405"


def test_every_reason_obeys_the_error_rule() -> None:
    problems = [
        value
        for module in (app_module, requests_module)
        for value in vars(module).values()
        if isinstance(value, requests_module.Problem)
    ]
    assert len(problems) > 15
    for problem in problems:
        for fmt in Format:
            verdict = validate_body(render(Record.error(problem.code, problem.reason), fmt), fmt)
            assert verdict.ok, (problem, verdict.violations)


class BrokenStore(MemoryStore):
    def rotate(self, account_id: str) -> str:
        raise RuntimeError("disk on fire")


def test_a_failing_store_gets_a_plain_500_envelope() -> None:
    store = BrokenStore()
    store.add_account("alice", PASSWORD)
    with serving(build_app(store)) as url:
        form = {"userId": "alice", "password": PASSWORD, "format": "json"}
        response = httpx.post(url + ENDPOINT_PATH, data=form)
        assert refused(response, status=500).reason == "internal error"
        assert refused(httpx.post(url + ENDPOINT_PATH)).reason == "authentication required"


# --- concurrency --------------------------------------------------------------


def test_concurrent_regenerations_leave_one_returned_key(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "keys.db") as store, serving(build_app(store)) as url:
        store.add_account("alice", PASSWORD)
        form = {"userId": "alice", "password": PASSWORD, "format": "json"}
        with httpx.Client(timeout=30) as client:

            def once(_: int) -> httpx.Response:
                return client.post(url + ENDPOINT_PATH, data=form)

            with ThreadPoolExecutor(max_workers=32) as pool:
                keys = [success(r, Format.JSON) for r in pool.map(once, range(200))]
            assert len(set(keys)) == 200
            valid = [key for key in keys if store.authenticate_key(key) is not None]
            assert len(valid) == 1

            def by_key(_: int) -> httpx.Response:
                return client.post(url + ENDPOINT_PATH, headers={"apiKey": valid[0]})

            with ThreadPoolExecutor(max_workers=16) as pool:
                responses = list(pool.map(by_key, range(32)))
        winners = [r for r in responses if validate_body(r.content, Format.PLAIN).record
                   and b"apiKey=" in r.content]  # fmt: skip
        assert len(winners) == 1


# --- logging and serve() ------------------------------------------------------

LOG_LINE = re.compile(
    r"(GET|POST|PUT) /\S* \d{3} (plain|json|xml) auth=(none|credentials|apiKey) result=[a-z-]+ "
    r"\d+\.\dms"
)


def test_log_lines_carry_no_secret(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="regenkey.server")
    user = server.account()
    key = server.regenerate(RequestSpec("GET", Encoding.QUERY, server.credentials(user)))
    spec = RequestSpec("POST", Encoding.FORM, (), (("apiKey", key),))
    newer = server.regenerate(spec, Format.PLAIN)
    server.send(RequestSpec("PUT", Encoding.QUERY, server.credentials(user)))
    deadline = time.monotonic() + 2
    while len([r for r in caplog.records if r.name == "regenkey.server"]) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    lines = [r.getMessage() for r in caplog.records if r.name == "regenkey.server"]
    for line in lines:
        assert LOG_LINE.fullmatch(line), line
        assert "?" not in line and user not in line
        assert not any(secret in line for secret in (*SECRETS, key, newer))


READY = re.compile(r"regenkey reference server listening on (http://127\.0\.0\.1:(\d+))\n")
SERVE = """
from reference_impl.server import MemoryStore, serve
store = MemoryStore()
store.add_account("alice", {password!r})
serve("127.0.0.1", 0, store)
"""


def test_serve_announces_its_port_and_serves() -> None:
    code = SERVE.format(password=PASSWORD)
    process = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )
    lines: queue.Queue[str] = queue.Queue()
    stderr = process.stderr
    assert stderr is not None

    def read() -> None:
        for line in stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=30)
        match = READY.fullmatch(first)
        assert match and int(match[2]) > 0, first
        form = {"userId": "alice", "password": PASSWORD}
        response = httpx.get(match[1] + ENDPOINT_PATH, params=form)
        key = success(response, Format.PLAIN)
    finally:
        process.terminate()
        process.wait(timeout=10)
    reader.join(timeout=5)
    rest = "".join(lines.queue)
    assert "GET /SMSApi/rest/regenerateAPIKey 200 plain auth=credentials result=success" in rest
    assert not any(secret in rest for secret in (*SECRETS, key))
