"""Deliberately broken servers: the reference app with one fault each.

Each entry names the requirement ids the server suite must FAIL (and no
others). Most are one id; where one request cannot tell two faults apart,
both ids are named and the reason is given beside the entry.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from conformance import ENDPOINT_PATH, Format
from reference_impl.server import MemoryStore, build_app
from reference_impl.server.store import key_digest, new_key
from tests.servers import broken_lifecycle as lifecycle
from tests.servers.breaker import ASGI, Breaker, Req, Resp

PLAIN_USER = "regenkey-sandbox"
TRICKY_USER = "regenkey-tricky"


@dataclass(frozen=True)
class Accounts:
    plain_password: str
    tricky_password: str


@dataclass(frozen=True)
class BrokenServer:
    name: str
    fails: frozenset[str]
    make: Callable[[MemoryStore, Accounts], ASGI]
    # The run is given a valid key too: without one, credentials refused in
    # every form are the user's mistake (an ERROR), not the server's fault.
    key_given: bool = False


def _success(resp: Resp) -> bool:
    record = resp.record
    return record is not None and record.is_success


def _error(resp: Resp) -> bool:
    record = resp.record
    return record is not None and not record.is_success


def response_fault(fault: Callable[[Req, Resp], None]) -> Callable[[MemoryStore, Accounts], ASGI]:
    return lambda store, accounts: Breaker(build_app(store), on_response=fault)


def request_fault(
    fault: Callable[[Req, Accounts], Resp | None],
) -> Callable[[MemoryStore, Accounts], ASGI]:
    return lambda store, accounts: Breaker(
        build_app(store), on_request=lambda req: fault(req, accounts)
    )


def _mangle_password(req: Req, accounts: Accounts) -> None:
    req.replace(accounts.plain_password, "WRONG-PASSWORD")


def _success_record(edit: Callable[[Resp], None]) -> Callable[[Req, Resp], None]:
    def fault(req: Req, resp: Resp) -> None:
        if _success(resp):
            edit(resp)

    return fault


def _error_record(edit: Callable[[Resp], None]) -> Callable[[Req, Resp], None]:
    def fault(req: Req, resp: Resp) -> None:
        if _error(resp):
            edit(resp)

    return fault


def _rerender(**changes: str | None) -> Callable[[Resp], None]:
    def edit(resp: Resp) -> None:
        record = resp.record
        assert record is not None
        resp.render(replace(record, **changes))  # type: ignore[arg-type]

    return edit


# --- body faults --------------------------------------------------------------------


def _json_extra(resp: Resp) -> None:
    if resp.fmt is Format.JSON:
        resp.sub(r"\n}$", ',\n    "expires": "never"\n}')


def _json_number(resp: Resp) -> None:
    if resp.fmt is Format.JSON:
        resp.sub(r'"statusCode": "(\d+)"', r'"statusCode": \1')


def _json_truncated(resp: Resp) -> None:
    if resp.fmt is Format.JSON:
        resp.body = resp.body[:-1]


def _xml_root(resp: Resp) -> None:
    if resp.fmt is Format.XML:
        resp.sub("generateApiKeySuccessResponse", "apiKeyResponse")


def _xml_order(resp: Resp) -> None:
    if resp.fmt is Format.XML:
        resp.sub(r"(\s*<apiKey>[^<]*</apiKey>)(\s*<reason>[^<]*</reason>)", r"\2\1")


def _xml_unclosed(resp: Resp) -> None:
    if resp.fmt is Format.XML:
        resp.body = resp.body[: resp.body.rindex(b"</")]


def _plain_commas(resp: Resp) -> None:
    if resp.fmt is Format.PLAIN:
        resp.body = resp.body.replace(b" | ", b", ")


def _upper_key(resp: Resp) -> None:
    record = resp.record
    assert record is not None and record.api_key
    resp.body = resp.body.replace(record.api_key.encode(), record.api_key.upper().encode())


def _error_with_key(resp: Resp) -> None:
    record = resp.record
    assert record is not None
    key = uuid.uuid4().hex
    if resp.fmt is Format.JSON:
        resp.sub(r'"status": "error",', f'"status": "error",\n    "apiKey": "{key}",')
    elif resp.fmt is Format.XML:
        resp.sub(r"<errorResponse>", f"<errorResponse><apiKey>{key}</apiKey>")
    else:
        resp.sub(r"^status=error \| ", f"status=error | apiKey={key} | ")


def _status_ok(resp: Resp) -> None:
    resp.sub(r'"status": "success"|<status>success</status>|^status=success', "STATUS")
    ok = {
        Format.JSON: '"status": "ok"',
        Format.XML: "<status>ok</status>",
        Format.PLAIN: "status=ok",
    }
    resp.body = resp.body.replace(b"STATUS", ok[resp.fmt].encode())


def _errors_in_plain(req: Req, resp: Resp) -> None:
    record = resp.record
    if record is not None and not record.is_success and resp.fmt is not Format.PLAIN:
        resp.render(record, Format.PLAIN)


def _successes_in_plain(req: Req, resp: Resp) -> None:
    record = resp.record
    if record is not None and record.is_success and resp.fmt is not Format.PLAIN:
        resp.render(record, Format.PLAIN)


def _default_is_json(req: Req, resp: Resp) -> None:
    record = resp.record
    has_format = (
        bool(req.form().get("format"))
        or re.search(rb'<format>[^<]|name="format"\r\n\r\n[^\r]', req.body) is not None
    )
    if record is not None and not has_format and req.path == ENDPOINT_PATH:
        resp.render(record, Format.JSON)


def _status(code: int) -> Callable[[Req, Resp], None]:
    def fault(req: Req, resp: Resp) -> None:
        if _success(resp):
            resp.status = code

    return fault


def _echo_password(accounts: Accounts) -> Callable[[Req, Resp], None]:
    def fault(req: Req, resp: Resp) -> None:
        record = resp.record
        if record is not None and not record.is_success and req.mentions(accounts.plain_password):
            resp.render(replace(record, reason=f"bad request from {accounts.plain_password}"))

    return fault


# Echoes of the password a request submitted, in the spellings a judge must see through.
_ECHO = "ECHO-PLACEHOLDER"


def _echo_spelled(
    spell: Callable[[str], str], fmt: Format | None = None, escaped: bool = False
) -> Callable[[MemoryStore, Accounts], ASGI]:
    """Errors quote the password the request submitted, as ``spell`` writes it:
    rendered by the format's own escaping, or (``escaped``) written into the
    body as it stands; only in ``fmt`` bodies when given. An echo that would
    make the body invalid is not made (the fault stays RK-SAFE-002's alone)."""
    from conformance import validate_body

    def fault(req: Req, resp: Resp) -> None:
        record, password = resp.record, req.form().get("password", "")
        if record is None or record.is_success or not password.strip():
            return
        if fmt is not None and resp.fmt is not fmt:
            return
        before = resp.body
        if escaped:
            resp.render(replace(record, reason=f"bad password {_ECHO}"))
            resp.body = resp.body.replace(_ECHO.encode(), spell(password).encode())
        else:
            resp.render(replace(record, reason=f"bad password {spell(password)}"))
        if not validate_body(resp.body, resp.fmt).ok:
            resp.body = before

    return response_fault(fault)


def _echo_in_header(req: Req, resp: Resp) -> None:
    """Every answer carries the submitted password in a header (URL-encoded
    where it is not a plain header value)."""
    from urllib.parse import quote

    password = req.form().get("password", "")
    if password.strip():
        plain = re.fullmatch(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*", password)
        value = password if plain else quote(password, safe="")
        resp.headers = [*resp.headers, (b"x-login-echo", value.encode("ascii"))]


def _char_refs(text: str) -> str:
    return "".join(f"&#{ord(c)};" for c in text)


def _u_escapes(text: str) -> str:
    units = text.encode("utf-16-be")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def _base64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _quotes_unknown_format(req: Req, resp: Resp) -> None:
    """Correct: an unknown format value is quoted back in the refusal (it may
    happen to be the password; no password was submitted as one)."""
    from conformance import validate_body

    record, value = resp.record, req.form().get("format", "")
    if record is None or record.is_success or value.lower() in ("", "json", "xml", "plain"):
        return
    before = resp.body
    resp.render(replace(record, reason=f"unknown format {value}"))
    if not validate_body(resp.body, resp.fmt).ok:
        resp.body = before


# --- request faults -----------------------------------------------------------------


def _when(predicate: Callable[[Req], bool]) -> Callable[[Req, Accounts], Resp | None]:
    """Credentials fail for the requests ``predicate`` picks out."""

    def fault(req: Req, accounts: Accounts) -> Resp | None:
        if req.path == ENDPOINT_PATH and predicate(req):
            _mangle_password(req, accounts)
        return None

    return fault


def _is_form_post(req: Req) -> bool:
    return req.method == "POST" and req.content_type == "application/x-www-form-urlencoded"


def _lower_path(req: Req, accounts: Accounts) -> Resp | None:
    if req.path.lower() == ENDPOINT_PATH.lower():
        req.path = ENDPOINT_PATH
    return None


def _renamed_params(req: Req, accounts: Accounts) -> Resp | None:
    """The server wants ``userid``: the exact ``userId`` is not recognised."""
    req.replace("userId=", "xuserId=")
    req.replace("userid=", "userId=")
    return None


def _plus_kept(req: Req, accounts: Accounts) -> Resp | None:
    req.query = req.query.replace(b"+", b"%2B")
    if req.content_type == "application/x-www-form-urlencoded":
        req.body = req.body.replace(b"+", b"%2B")
    return None


def _no_credentials(req: Req, accounts: Accounts) -> Resp | None:
    if not req.header("apikey"):
        _mangle_password(req, accounts)
    return None


def _no_header(req: Req, accounts: Accounts) -> Resp | None:
    req.drop_header("apikey")
    return None


def _anonymous_is_sandbox(req: Req, accounts: Accounts) -> Resp | None:
    fields = req.form()
    if req.path == ENDPOINT_PATH and not req.header("apikey") and not fields.get("userId"):
        quiet = not req.mentions("userId") and not req.mentions("password")
        if quiet and req.content_type in ("", "application/x-www-form-urlencoded"):
            sep = b"&" if req.query else b""
            req.query += sep + f"userId={PLAIN_USER}&password={accounts.plain_password}".encode()
    return None


def _wrong_password_ok(req: Req, accounts: Accounts) -> Resp | None:
    req.replace(accounts.plain_password + "x", accounts.plain_password)
    return None


def _empty_header_refused(req: Req, accounts: Accounts) -> Resp | None:
    if req.header("apikey") == "":
        _mangle_password(req, accounts)
    return None


def _empty_fields_refused(req: Req, accounts: Accounts) -> Resp | None:
    if req.header("apikey") and b'name="userId"\r\n\r\n\r\n' in req.body:
        req.drop_header("apikey")
    return None


def _case_sensitive_format(req: Req, accounts: Accounts) -> Resp | None:
    value = req.form().get("format", "")
    if value and value != value.lower():
        req.replace(f"format={value}", "format=unknown")
    return None


def _unknown_format_is_plain(req: Req, accounts: Accounts) -> Resp | None:
    value = req.form().get("format", "")
    if value and value.lower() not in ("plain", "json", "xml"):
        req.replace(f"format={value}", "format=plain")
    return None


def _server_error_on_odd_types(req: Req, accounts: Accounts) -> Resp | None:
    known = {"", "application/x-www-form-urlencoded", "multipart/form-data",
             "application/xml", "text/xml"}  # fmt: skip
    if req.method == "POST" and req.content_type not in known:
        return Resp(500, [(b"content-type", b"text/plain")], b"Internal Server Error")
    return None


# --- key faults (they keep their own state) -----------------------------------------


def _old_keys_work(store: MemoryStore, accounts: Accounts) -> ASGI:
    breaker = Breaker(build_app(store))

    def fault(req: Req) -> Resp | None:
        key = req.header("apikey")
        if key and key in breaker.keys[:-1]:
            req.set_header("apiKey", breaker.keys[-1])
        return None

    breaker.on_request = fault
    return breaker


def _same_key_every_time(store: MemoryStore, accounts: Accounts) -> ASGI:
    breaker = Breaker(build_app(store))
    first: list[str] = []

    def on_response(req: Req, resp: Resp) -> None:
        record = resp.record
        if record is not None and record.is_success and record.api_key:
            first[:] = first or [record.api_key]
            resp.body = resp.body.replace(record.api_key.encode(), first[0].encode())

    def on_request(req: Req) -> Resp | None:
        if first and req.header("apikey") == first[0] and breaker.keys:
            req.set_header("apiKey", breaker.keys[-1])
        return None

    breaker.on_request, breaker.on_response = on_request, on_response
    return breaker


def _issued_key_never_works(req: Req, resp: Resp) -> None:
    record = resp.record
    if record is not None and record.is_success and record.api_key:
        resp.body = resp.body.replace(record.api_key.encode(), uuid.uuid4().hex.encode())


def _credentials_die_after_rotation(store: MemoryStore, accounts: Accounts) -> ASGI:
    breaker = Breaker(build_app(store))

    def fault(req: Req) -> Resp | None:
        if breaker.keys and not req.header("apikey"):
            _mangle_password(req, accounts)
        return None

    breaker.on_request = fault
    return breaker


def _refusals_rotate(store: MemoryStore, accounts: Accounts) -> ASGI:
    def fault(req: Req, resp: Resp) -> None:
        if _error(resp):
            store.rotate(PLAIN_USER)

    return Breaker(build_app(store), on_response=fault)


def _malformed_keys_work(store: MemoryStore, accounts: Accounts) -> ASGI:
    breaker = Breaker(build_app(store))

    def fault(req: Req) -> Resp | None:
        key = req.header("apikey")
        if key and not re.fullmatch("[0-9a-f]{32}", key) and breaker.keys:
            req.set_header("apiKey", breaker.keys[-1])
        return None

    breaker.on_request = fault
    return breaker


class RacyStore(MemoryStore):
    """Rotation that reads, waits, then writes without the lock: concurrent
    regenerations each add a key and more than one stays valid."""

    def rotate(self, account_id: str) -> str:
        account = self._accounts[account_id]
        old = account.key_digest
        time.sleep(0.02)
        key = new_key()
        with self._lock:
            if old is not None:
                self._by_key.pop(old, None)
            account.key_digest = key_digest(key)
            self._by_key[account.key_digest] = account_id
        return key


def _racy(store: MemoryStore, accounts: Accounts) -> ASGI:
    return build_app(store)


# --- faults that ignore where the parameters travel (issue 12, item 13, precision) ---


def _ignore_body(req: Req) -> None:
    """The server reads no body: it answers as if no parameters were sent."""
    req.body = b""
    req.drop_header("content-type")


def _ignoring(predicate: Callable[[Req], bool]) -> Callable[[Req, Accounts], Resp | None]:
    def fault(req: Req, accounts: Accounts) -> Resp | None:
        if req.path == ENDPOINT_PATH and predicate(req):
            _ignore_body(req)
        return None

    return fault


def _post_query_ignored(req: Req, accounts: Accounts) -> Resp | None:
    if req.method == "POST":
        req.query = b""
    return None


def _query_ignored_beside_type(req: Req, accounts: Accounts) -> Resp | None:
    """A GET with a Content-Type is read from its (empty) body: the query is ignored."""
    if req.method == "GET" and req.content_type:
        req.query = b""
    return None


def _unsupported_media(where: Callable[[Req], bool]) -> Callable[[Req, Accounts], Resp | None]:
    """The server refuses the requests ``where`` picks with a bare 415, no envelope."""

    def fault(req: Req, accounts: Accounts) -> Resp | None:
        if req.path == ENDPOINT_PATH and where(req):
            return Resp(415, [(b"content-type", b"text/plain")], b"Unsupported Media Type")
        return None

    return fault


def _credentials_die_after(
    kind: Callable[[Req], bool],
) -> Callable[[MemoryStore, Accounts], ASGI]:
    """Credentials work until the first regeneration by a request ``kind`` picks out."""

    def make(store: MemoryStore, accounts: Accounts) -> ASGI:
        dead: list[bool] = []

        def on_request(req: Req) -> Resp | None:
            if dead and not req.header("apikey"):
                _mangle_password(req, accounts)
            return None

        def on_response(req: Req, resp: Resp) -> None:
            if kind(req) and _success(resp):
                dead[:] = [True]

        return Breaker(build_app(store), on_request=on_request, on_response=on_response)

    return make


def _format_not_read(where: Callable[[Req], bool]) -> Callable[[Req, Accounts], Resp | None]:
    """The server reads every parameter but ``format`` from the requests ``where`` picks."""

    def fault(req: Req, accounts: Accounts) -> Resp | None:
        if req.path == ENDPOINT_PATH and where(req):
            req.body = re.sub(rb'(name="format"\r\n\r\n)[^\r]*', rb"\1", req.body)
            req.query = re.sub(rb"(^|&)format=[^&]*", rb"\1format=", req.query)
        return None

    return fault


def _deep_json(resp: Resp) -> None:
    """A success carries one extra member nested 2,000 deep."""
    if resp.fmt is Format.JSON:
        resp.sub(r"\n}$", ',\n    "detail": ' + "[" * 2000 + "]" * 2000 + "\n}")


def _deep_xml(resp: Resp) -> None:
    """A success carries one extra element nested 2,000 deep."""
    if resp.fmt is Format.XML:
        resp.sub(r"(</reason>)", r"\1" + "<d>" * 2000 + "</d>" * 2000)


def _key_in_errors(store: MemoryStore, where: str) -> ASGI:
    """Every error carries the latest key the server issued: in its reason, or
    in an X-Debug header (the body stays a valid error envelope)."""
    breaker = Breaker(build_app(store))

    def on_response(req: Req, resp: Resp) -> None:
        if not _error(resp) or not breaker.keys:
            return
        if where == "reason":
            _rerender(reason=f"denied (current key {breaker.keys[-1]})")(resp)
        else:
            resp.headers = [*resp.headers, (b"x-debug", f"key={breaker.keys[-1]}".encode())]

    breaker.on_response = on_response
    return breaker


def _key_parameter_read(req: Req, accounts: Accounts) -> Resp | None:
    """A parameter named apiKey counts as the header when there is none."""
    value = req.form().get("apiKey")
    if req.path == ENDPOINT_PATH and value and not req.header("apikey"):
        req.set_header("apiKey", value)
    return None


def _unknown_parameter_refused(req: Req, accounts: Accounts) -> Resp | None:
    """A parameter but userId, password, format (query, form, multipart) refuses the request."""
    names = set(req.form()) | {m.decode() for m in re.findall(rb'; name="?([^";\r\n]+)', req.body)}
    if req.path == ENDPOINT_PATH and names - {"userId", "password", "format"}:
        _mangle_password(req, accounts)
        req.drop_header("apikey")
    return None


PLAIN_ERRORS = "successes still answer in the requested format"

BROKEN: list[BrokenServer] = [
    # body rules
    BrokenServer("json-extra-member", frozenset({"RK-JSON-001"}), response_fault(_success_record(_json_extra))),
    BrokenServer("json-number-code", frozenset({"RK-JSON-002"}), response_fault(_success_record(_json_number))),
    BrokenServer("json-truncated", frozenset({"RK-JSON-003"}), response_fault(_success_record(_json_truncated))),
    BrokenServer("xml-wrong-root", frozenset({"RK-XML-001"}), response_fault(_success_record(_xml_root))),
    BrokenServer("xml-wrong-order", frozenset({"RK-XML-002"}), response_fault(_success_record(_xml_order))),
    BrokenServer("xml-unclosed", frozenset({"RK-XML-003"}), response_fault(_success_record(_xml_unclosed))),
    BrokenServer("deep-json", frozenset({"RK-JSON-003"}), response_fault(_success_record(_deep_json))),
    BrokenServer("deep-xml", frozenset({"RK-XML-003"}), response_fault(_success_record(_deep_xml))),
    BrokenServer("plain-commas", frozenset({"RK-PLAIN-001"}), response_fault(_success_record(_plain_commas))),
    BrokenServer("status-ok", frozenset({"RK-SUCC-001"}), response_fault(_success_record(_status_ok))),
    BrokenServer("code-200", frozenset({"RK-SUCC-002"}), response_fault(_success_record(_rerender(status_code="200")))),
    BrokenServer("reason-done", frozenset({"RK-SUCC-003"}), response_fault(_success_record(_rerender(reason="done")))),
    BrokenServer("key-upper-case", frozenset({"RK-KEY-001"}), response_fault(_success_record(_upper_key))),
    BrokenServer("error-status-failed", frozenset({"RK-ERR-001"}), response_fault(_error_record(_rerender(status="failed")))),
    BrokenServer("error-code-4011", frozenset({"RK-ERR-002"}), response_fault(_error_record(_rerender(status_code="4011")))),
    BrokenServer("error-reason-empty", frozenset({"RK-ERR-003"}), response_fault(_error_record(_rerender(reason="")))),
    BrokenServer("error-with-key", frozenset({"RK-ERR-004"}), response_fault(_error_record(_error_with_key))),
    BrokenServer("errors-always-plain", frozenset({"RK-ERR-005"}), response_fault(_errors_in_plain)),
    BrokenServer("success-is-201", frozenset({"RK-HTTP-010"}), response_fault(_status(201))),
    # transport
    BrokenServer("path-any-case", frozenset({"RK-HTTP-001"}), request_fault(_lower_path)),
    BrokenServer("no-form", frozenset({"RK-HTTP-002"}), request_fault(_when(_is_form_post))),
    BrokenServer("no-get", frozenset({"RK-HTTP-003"}), request_fault(_when(lambda r: r.method == "GET"))),
    BrokenServer("no-xml", frozenset({"RK-HTTP-004"}), request_fault(_when(lambda r: r.content_type == "application/xml"))),
    BrokenServer("no-multipart", frozenset({"RK-HTTP-005"}), request_fault(_when(lambda r: r.content_type == "multipart/form-data"))),
    BrokenServer("no-chunked", frozenset({"RK-HTTP-006"}), request_fault(_when(lambda r: r.header("transfer-encoding") == "chunked"))),
    BrokenServer("no-get-with-type", frozenset({"RK-HTTP-007"}), request_fault(_when(lambda r: r.method == "GET" and bool(r.content_type)))),
    # The server does not read where the parameters travel: it answers as if none were sent.
    BrokenServer("post-query-ignored", frozenset({"RK-HTTP-009"}), request_fault(_post_query_ignored)),
    BrokenServer("chunked-ignored", frozenset({"RK-HTTP-006"}), request_fault(_ignoring(lambda r: r.header("transfer-encoding") == "chunked"))),
    BrokenServer("get-body-read", frozenset({"RK-HTTP-007"}), request_fault(_query_ignored_beside_type)),
    BrokenServer("multipart-ignored", frozenset({"RK-HTTP-005"}), request_fault(_ignoring(lambda r: r.content_type == "multipart/form-data"))),
    BrokenServer("multipart-format-ignored", frozenset({"RK-HTTP-005"}), request_fault(_format_not_read(lambda r: r.content_type == "multipart/form-data"))),
    BrokenServer("post-query-format-ignored", frozenset({"RK-HTTP-009"}), request_fault(_format_not_read(lambda r: r.method == "POST" and bool(r.query)))),
    BrokenServer("xml-refused-415", frozenset({"RK-HTTP-004"}), request_fault(_unsupported_media(lambda r: r.content_type == "application/xml"))),
    BrokenServer("xml-body-ignored", frozenset({"RK-HTTP-004"}), request_fault(_ignoring(lambda r: r.content_type in ("application/xml", "text/xml")))),
    BrokenServer("userid-lower-case", frozenset({"RK-PARAM-001"}), request_fault(_renamed_params)),
    BrokenServer("plus-not-decoded", frozenset({"RK-PARAM-002"}), request_fault(_plus_kept)),
    # authentication
    BrokenServer("no-credentials", frozenset({"RK-AUTH-001"}), request_fault(_no_credentials), key_given=True),
    # One request cannot tell "header auth is broken" from "the issued key is wrong".
    BrokenServer("no-header-auth", frozenset({"RK-AUTH-002", "RK-ROT-003"}), request_fault(_no_header)),
    BrokenServer("anonymous-allowed", frozenset({"RK-AUTH-004"}), request_fault(_anonymous_is_sandbox)),
    BrokenServer("wrong-password-ok", frozenset({"RK-AUTH-005"}), request_fault(_wrong_password_ok)),
    BrokenServer("malformed-keys-ok", frozenset({"RK-AUTH-006"}), _malformed_keys_work),
    BrokenServer("empty-header-refused", frozenset({"RK-AUTH-007"}), request_fault(_empty_header_refused)),
    BrokenServer("empty-fields-refused", frozenset({"RK-AUTH-008"}), request_fault(_empty_fields_refused)),
    # format
    BrokenServer("successes-always-plain", frozenset({"RK-FMT-001"}), response_fault(_successes_in_plain)),
    BrokenServer("default-json", frozenset({"RK-FMT-002"}), response_fault(_default_is_json)),
    BrokenServer("format-case-sensitive", frozenset({"RK-FMT-003"}), request_fault(_case_sensitive_format)),
    BrokenServer("unknown-format-plain", frozenset({"RK-FMT-004"}), request_fault(_unknown_format_is_plain)),
    # rotation
    BrokenServer("same-key", frozenset({"RK-ROT-001"}), _same_key_every_time),
    BrokenServer("old-keys-work", frozenset({"RK-ROT-002"}), _old_keys_work),
    BrokenServer("issued-key-fake", frozenset({"RK-AUTH-002", "RK-ROT-003"}), response_fault(_issued_key_never_works)),
    BrokenServer("credentials-die", frozenset({"RK-ROT-004"}), _credentials_die_after_rotation),
    BrokenServer("password-dies-after-header-rotation", frozenset({"RK-ROT-004"}), _credentials_die_after(lambda r: bool(r.header("apikey")))),
    BrokenServer("password-dies-after-get-rotation", frozenset({"RK-ROT-004"}), _credentials_die_after(lambda r: r.method == "GET")),
    BrokenServer("racy-rotation", frozenset({"RK-ROT-005"}), _racy),
    BrokenServer("refusals-rotate", frozenset({"RK-ROT-006"}), _refusals_rotate),
    # safety
    BrokenServer("500-on-odd-types", frozenset({"RK-SAFE-001"}), request_fault(_server_error_on_odd_types)),
    BrokenServer("echoes-password", frozenset({"RK-SAFE-002"}), lambda store, accounts: Breaker(build_app(store), on_response=_echo_password(accounts))),
    # The password a request submitted, echoed in a spelling of its own (issue 12, item 8).
    BrokenServer("echoes-password-in-header", frozenset({"RK-SAFE-002"}), response_fault(_echo_in_header)),
    BrokenServer("echoes-password-xml-char-refs", frozenset({"RK-SAFE-002"}), _echo_spelled(_char_refs, Format.XML, escaped=True)),
    BrokenServer("echoes-password-json-u-escaped", frozenset({"RK-SAFE-002"}), _echo_spelled(_u_escapes, Format.JSON, escaped=True)),
    BrokenServer("echoes-password-base64", frozenset({"RK-SAFE-002"}), _echo_spelled(_base64)),
    BrokenServer("echoes-password-hex", frozenset({"RK-SAFE-002"}), _echo_spelled(lambda p: p.encode().hex())),
    BrokenServer("echoes-password-reversed", frozenset({"RK-SAFE-002"}), _echo_spelled(lambda p: p[::-1])),
    BrokenServer("echoes-password-upper-case", frozenset({"RK-SAFE-002"}), _echo_spelled(str.upper)),
    # A key the run saw issued, in an error (issue 15: RK-SAFE-003); the key only as a header (RK-AUTH-015).
    BrokenServer("key-in-error-reason", frozenset({"RK-SAFE-003"}), lambda store, accounts: _key_in_errors(store, "reason")),
    BrokenServer("key-in-error-header", frozenset({"RK-SAFE-003"}), lambda store, accounts: _key_in_errors(store, "header")),
    BrokenServer("key-read-from-parameters", frozenset({"RK-AUTH-015"}), request_fault(_key_parameter_read)),
    # A SHOULD only: refusing an unknown parameter breaks no MUST (NON-STRICT, fails with --strict).
    BrokenServer("unknown-parameter-refused", frozenset({"RK-PARAM-004"}), request_fault(_unknown_parameter_refused)),
]  # fmt: skip


# --- correct variants: they differ from the reference only where the spec allows ----


def _renderings_variant(label_for: dict[Format, str]) -> Callable[[Req, Resp], None]:
    from conformance import renderings

    def variant(req: Req, resp: Resp) -> None:
        record = resp.record
        if record is None:
            return
        chosen = dict(renderings(record, resp.fmt)).get(label_for.get(resp.fmt, ""))
        if chosen is not None:
            resp.body = chosen.encode()

    return variant


def _headers(
    edit: Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]],
) -> Callable[[Req, Resp], None]:
    def variant(req: Req, resp: Resp) -> None:
        resp.headers = edit(resp.headers)

    return variant


def _media(req: Req, resp: Resp) -> None:
    others = [(k, v) for k, v in resp.headers if k.lower() != b"content-type"]
    media = {Format.JSON: b"application/json; charset=UTF-8", Format.XML: b"text/xml; charset=utf-8",
             Format.PLAIN: b"text/plain; charset=us-ascii"}[resp.fmt]  # fmt: skip
    resp.headers = [*others, (b"content-type", media)]


def _errors_as_4xx(req: Req, resp: Resp) -> None:
    record = resp.record
    if record is not None and not record.is_success and resp.status == 200:
        resp.status = 401 if record.status_code == "401" else 400


def _as_422_with_code_999(resp: Resp) -> None:
    """Any 4xx status and any three-digit error code but 900 are allowed."""
    _rerender(status_code="999")(resp)
    if resp.status == 200:
        resp.status = 422


CORRECT: list[tuple[str, Callable[[MemoryStore, Accounts], ASGI]]] = [
    ("compact-json-compact-xml", response_fault(_renderings_variant(
        {Format.JSON: "json-compact", Format.XML: "xml-compact", Format.PLAIN: "plain-newline"}))),
    ("reordered-json-bare-xml", response_fault(_renderings_variant(
        {Format.JSON: "json-reversed-order", Format.XML: "xml-tabs-no-declaration",
         Format.PLAIN: "plain-crlf"}))),
    ("ascii-escaped-json", response_fault(_renderings_variant({Format.JSON: "json-ascii-escaped"}))),
    ("charset-and-text-xml", response_fault(_media)),
    ("extra-headers", response_fault(_headers(lambda h: [*h, (b"x-powered-by", b"test"),
                                                         (b"set-cookie", b"a=b; Path=/")]))),
    ("connection-close", response_fault(_headers(lambda h: [*h, (b"connection", b"close")]))),
    ("errors-as-4xx", response_fault(_errors_as_4xx)),
    ("errors-as-422-code-999", response_fault(_error_record(_as_422_with_code_999))),
    ("quotes-unknown-format", response_fault(_quotes_unknown_format)),
]  # fmt: skip


BROKEN += [
    # the model-based lifecycle (issue 15): faults only a stateful sequence shows
    BrokenServer("counter-keys", frozenset({"RK-KEY-003"}), lifecycle.counter_keys),
    BrokenServer("revoked-key-reissued", frozenset({"RK-ROT-007"}), lifecycle.reissue_revoked),
    BrokenServer(
        "header-rotation-revokes-other-accounts",
        frozenset({"RK-ROT-008"}),
        lifecycle.header_rotation_revokes_others((PLAIN_USER, TRICKY_USER)),
    ),
    BrokenServer("head-rotates", frozenset({"RK-ROT-009"}), lifecycle.head_rotates),
]
