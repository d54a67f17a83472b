"""Broken servers off the suite's beaten path: one per input dimension of issue 15.

Each is the reference app with one fault that only shows for some request
shapes (a route, a carrier, a field order, a near-miss password, a second
account, a method that should rotate nothing), the kind the hidden set of
broken servers holds. :data:`BROKEN_MODEL` names, beside each, the exact ids
the server suite must report, FAIL or (a SHOULD, the run being strict)
NON-STRICT. tests/test_broken_model_servers.py holds the suite to that.

Faults live where they are easiest to state: request rewriting in a
``Breaker`` (tests/servers/breaker.py), password and key faults in
:class:`ModelStore` (a ``MemoryStore`` that remembers the plain passwords and
every key it issued, and reads the request being served from a context
variable), and a header's spelling below ASGI through tests/servers/unusual.py's
proxy (:data:`SPELLING` marks it). Every ``make`` takes the same arguments as
tests/servers/broken.py's, so either table's runner can serve these.
"""

from __future__ import annotations

import contextvars
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from conformance import ENDPOINT_PATH, Format
from reference_impl.server import MemoryStore, build_app
from reference_impl.server.store import AccountId, key_digest
from tests.servers.breaker import ASGI, Breaker, Req, Resp
from tests.servers.broken import PLAIN_USER, TRICKY_USER, Accounts, _echo_spelled

REQUEST: contextvars.ContextVar[Req | None] = contextvars.ContextVar("request", default=None)
SPELLING = b"x-apikey-spelled"  # added by the proxy: the apiKey header's name as sent


# --- a store with faults of its own ---------------------------------------------------------


Lenient = Callable[[str, str], bool]  # (submitted, right) -> accepted though wrong


@dataclass
class Faults:
    lenient: Lenient | None = None  # a wrong password it accepts
    revoked_ok: Callable[[Req], bool] | None = None  # the requests where a revoked key works
    reissue_every: int | None = None  # every n-th rotation of an account hands back an old key
    counter_keys: bool = False  # keys from a counter, dressed as random UUIDs
    header_rotation_revokes_all: bool = False  # a header rotation revokes every other key too


class ModelStore(MemoryStore):
    """A MemoryStore with :class:`Faults`; it keeps what a test double may know."""

    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults
        self.plain: dict[AccountId, str] = {}
        self.issued: dict[AccountId, list[str]] = {}
        self.revoked: dict[str, AccountId] = {}  # digest of a revoked key -> its account
        self._counter = secrets.randbits(120) << 8

    def add_account(self, user_id: str, password: str) -> None:
        super().add_account(user_id, password)
        self.plain[user_id] = password

    def authenticate_credentials(self, user_id: str, password: str) -> AccountId | None:
        right, lenient = self.plain.get(user_id), self.faults.lenient
        if right is not None and lenient is not None and lenient(password, right):
            password = right
        return super().authenticate_credentials(user_id, password)

    def _new_key(self, account_id: AccountId) -> str:
        history = self.issued.setdefault(account_id, [])
        every = self.faults.reissue_every
        if every and len(history) % every == every - 1 and len(history) >= 2:
            return history[-2]  # revoked one rotation ago, now current again
        if self.faults.counter_keys:
            self._counter += 1
            return uuid.UUID(int=self._counter, version=4).hex
        return uuid.uuid4().hex

    def _replace_key(self, account_id: AccountId) -> str:
        account = self._accounts[account_id]
        key = self._new_key(account_id)
        if account.key_digest is not None:
            self._by_key.pop(account.key_digest, None)
            self.revoked[account.key_digest] = account_id
        account.key_digest = key_digest(key)
        self.revoked.pop(account.key_digest, None)
        self._by_key[account.key_digest] = account_id
        self.issued[account_id].append(key)
        return key

    def rotate_by_key(self, key: str) -> tuple[AccountId, str] | None:
        with self._lock:
            owner = self._by_key.get(key_digest(key))
            request, revoked_ok = REQUEST.get(), self.faults.revoked_ok
            if owner is None and request is not None and revoked_ok and revoked_ok(request):
                owner = self.revoked.get(key_digest(key))
            if owner is None:
                return None
            if self.faults.header_rotation_revokes_all:
                for other, account in self._accounts.items():
                    if other != owner and account.key_digest is not None:
                        self._replace_key(other)  # revoked; the new key is never shown
            return owner, self._replace_key(owner)


def with_store(faults: Faults, on_request: Callable[[Req], Resp | None] | None = None) -> Make:
    """The reference app on a :class:`ModelStore` of its own, holding the two
    accounts (the store passed in is left unused), with the request being
    served in :data:`REQUEST`."""

    def make(store: MemoryStore, accounts: Accounts) -> ASGI:
        own = ModelStore(faults)
        own.add_account(PLAIN_USER, accounts.plain_password)
        own.add_account(TRICKY_USER, accounts.tricky_password)

        def note(req: Req) -> Resp | None:
            REQUEST.set(req)
            return on_request(req) if on_request else None

        return Breaker(build_app(own), on_request=note)

    return make


Make = Callable[[MemoryStore, Accounts], ASGI]


# --- near-miss passwords (RK-AUTH-005) ------------------------------------------------------


def _case_insensitive(submitted: str, right: str) -> bool:
    return submitted.lower() == right.lower()


def _prefix(submitted: str, right: str) -> bool:
    return len(submitted) >= 4 and right.startswith(submitted)


def _one_short(submitted: str, right: str) -> bool:
    return submitted == right[:-1]


def _trailing_space(submitted: str, right: str) -> bool:
    return submitted.rstrip(" ") == right


def _trimmed(submitted: str, right: str) -> bool:
    return submitted.strip() == right


def _nul_dropped(req: Req) -> Resp | None:
    """The server cuts each value at its first NUL, as a C string would."""
    if req.path == ENDPOINT_PATH:
        req.query = re.sub(rb"%00[^&]*", b"", req.query)
        req.body = re.sub(rb"%00[^&]*", b"", req.body) if b"%00" in req.body else req.body
        req.body = re.sub(rb"\x00[^\r<]*", b"", req.body)
    return None


# --- request shapes a server refuses (RK-HTTP-004, -005, -002) -------------------------------

_BOM = b"\xef\xbb\xbf"


def _refuse(when: Callable[[Req], bool]) -> Callable[[Req], Resp | None]:
    """The server reads no body from the requests ``when`` picks: it answers as if
    none were sent (an error envelope: no credentials)."""

    def fault(req: Req) -> Resp | None:
        if req.path == ENDPOINT_PATH and req.method == "POST" and when(req):
            req.body = b""
            req.drop_header("content-type")
        return None

    return fault


def _multipart(req: Req) -> bool:
    return req.content_type == "multipart/form-data"


def _multipart_out_of_order(req: Req) -> bool:
    names = re.findall(rb'name="?(userId|password|format)"?', req.body)
    order = [n for n in (b"userId", b"password", b"format") if n in names]
    return _multipart(req) and names != order


def _multipart_bare_names(req: Req) -> bool:
    return _multipart(req) and re.search(rb"name=[A-Za-z]", req.body) is not None


def _multipart_filename(req: Req) -> bool:
    return _multipart(req) and b"filename=" in req.body


def _xml(req: Req) -> bool:
    return req.content_type in ("application/xml", "text/xml")


def _chunked(req: Req) -> bool:
    return req.header("transfer-encoding") == "chunked"


def _plus_as_space_in_multipart(req: Req) -> Resp | None:
    """Multipart values are form-decoded: a literal ``+`` becomes a space."""
    if _multipart(req):
        req.body = re.sub(
            rb"(\r\n\r\n)([^\r]*)", lambda m: m.group(1) + m.group(2).replace(b"+", b" "), req.body
        )
    return None


# --- the format -------------------------------------------------------------------------------


def _format_lower_case_only(req: Req) -> Resp | None:
    """A format not written in lower case is not seen: the default (plain) answers."""
    if req.path != ENDPOINT_PATH:
        return None
    req.query = re.sub(rb"(^|&)format=([^&]*[A-Z][^&]*)", rb"\1format=", req.query)
    if req.content_type == "application/x-www-form-urlencoded":
        req.body = re.sub(rb"(^|&)format=([^&]*[A-Z][^&]*)", rb"\1format=", req.body)
    req.body = re.sub(rb'(name="?format"?\r\n\r\n)[^\r]*[A-Z][^\r]*', rb"\1", req.body)
    req.body = re.sub(rb"<format>[^<]*[A-Z][^<]*</format>", b"<format></format>", req.body)
    return None


def _empty_format_element_as_json(req: Req) -> Resp | None:
    """An empty ``<format/>`` element in an ``<Account>`` is read as json."""
    if _xml(req):
        req.body = re.sub(rb"<format></format>|<format/>", b"<format>json</format>", req.body)
    return None


def _post_query_format_ignored_beside_a_body(req: Req) -> Resp | None:
    if req.method == "POST" and req.body and req.path == ENDPOINT_PATH:
        req.query = re.sub(rb"(^|&)format=[^&]*", rb"\1", req.query)
    return None


# --- keys in errors (RK-SAFE-003) -------------------------------------------------------------


def _last_key_in_error(where: str) -> Make:
    """Errors quote the last key the server issued (to any account), in the reason
    or in a header."""

    def make(store: MemoryStore, accounts: Accounts) -> ASGI:
        breaker = Breaker(build_app(store))

        def fault(req: Req, resp: Resp) -> None:
            record = resp.record
            if record is None or record.is_success or not breaker.keys:
                return
            if where == "header":
                resp.headers = [*resp.headers, (b"x-last-issued", breaker.keys[-1].encode())]
            else:
                resp.render(
                    replace(record, reason=f"{record.reason} (last key {breaker.keys[-1]})")
                )

        breaker.on_response = fault
        return breaker

    return make


# --- methods that should rotate nothing (RK-ROT-009) ------------------------------------------


def _rotates_on(method: str) -> Make:
    """``method`` on the endpoint is refused (405) but rotates the key it authenticates."""

    def make(store: MemoryStore, accounts: Accounts) -> ASGI:
        def fault(req: Req) -> Resp | None:
            if req.method != method or req.path != ENDPOINT_PATH:
                return None
            key, fields = req.header("apikey"), req.form()
            if key:
                store.rotate_by_key(key)
            elif fields.get("userId") and fields.get("password"):
                account = store.authenticate_credentials(fields["userId"], fields["password"])
                if account is not None:
                    store.rotate(account)
            return None

        return Breaker(build_app(store), on_request=fault)

    return make


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelBroken:
    name: str
    fails: frozenset[str]
    make: Make
    spelling: bool = False  # behind the proxy that marks the apiKey header's spelling
    key_given: bool = False


def mark_spelling(request: bytes) -> bytes:
    """Adds the header :data:`SPELLING`: the apiKey header's name as it was sent."""
    head, sep, body = request.partition(b"\r\n\r\n")
    names = [line.split(b":", 1)[0] for line in head.split(b"\r\n")[1:]]
    spelt = [n for n in names if n.strip().lower() == b"apikey"]
    if spelt:
        head += b"\r\n" + SPELLING + b": " + spelt[0].strip()
    return head + sep + body


def _get(req: Req) -> bool:
    return req.method == "GET"


def _lower_case_header(req: Req) -> bool:
    return req.header(SPELLING.decode()) == "apikey"


def _ids(*ids: str) -> frozenset[str]:
    return frozenset(ids)


BROKEN_MODEL: list[ModelBroken] = [
    # history: a revoked key that still works by another route
    ModelBroken(
        "revoked-key-works-by-get", _ids("RK-ROT-002"), with_store(Faults(revoked_ok=_get))
    ),
    ModelBroken(
        "revoked-key-works-lower-case-header",
        _ids("RK-ROT-002"),
        with_store(Faults(revoked_ok=_lower_case_header)),
        spelling=True,
    ),
    # values: wrong passwords near the right one
    ModelBroken(
        "password-case-insensitive",
        _ids("RK-AUTH-005"),
        with_store(Faults(lenient=_case_insensitive)),
    ),
    ModelBroken(
        "password-prefix-accepted", _ids("RK-AUTH-005"), with_store(Faults(lenient=_prefix))
    ),
    ModelBroken(
        "password-one-short-accepted", _ids("RK-AUTH-005"), with_store(Faults(lenient=_one_short))
    ),
    ModelBroken(
        "password-trailing-space-accepted",
        _ids("RK-AUTH-005"),
        with_store(Faults(lenient=_trailing_space)),
    ),
    ModelBroken("password-trimmed", _ids("RK-AUTH-005"), with_store(Faults(lenient=_trimmed))),
    ModelBroken(
        "password-nul-padded-accepted", _ids("RK-AUTH-005"), with_store(Faults(), _nul_dropped)
    ),
    # carriers: multipart and <Account> bodies refused in some legal shapes
    ModelBroken(
        "multipart-order-refused",
        _ids("RK-HTTP-005"),
        with_store(Faults(), _refuse(_multipart_out_of_order)),
    ),
    ModelBroken(
        "multipart-bare-names-refused",
        _ids("RK-HTTP-005"),
        with_store(Faults(), _refuse(_multipart_bare_names)),
    ),
    ModelBroken(
        "multipart-filename-refused",
        _ids("RK-HTTP-005"),
        with_store(Faults(), _refuse(_multipart_filename)),
    ),
    ModelBroken(
        "multipart-content-length-refused",
        _ids("RK-HTTP-005"),
        with_store(Faults(), _refuse(lambda r: _multipart(r) and not _chunked(r))),
    ),
    ModelBroken(
        "xml-bom-refused",
        _ids("RK-HTTP-004"),
        with_store(Faults(), _refuse(lambda r: _xml(r) and r.body.startswith(_BOM))),
    ),
    ModelBroken(
        "xml-without-declaration-refused",
        _ids("RK-HTTP-004"),
        with_store(Faults(), _refuse(lambda r: _xml(r) and b"<?xml" not in r.body[:64])),
    ),
    ModelBroken(
        "xml-cdata-refused",
        _ids("RK-HTTP-004"),
        with_store(Faults(), _refuse(lambda r: _xml(r) and b"<![CDATA[" in r.body)),
    ),
    ModelBroken(
        "xml-entities-refused",
        _ids("RK-HTTP-004"),
        with_store(Faults(), _refuse(lambda r: _xml(r) and b"&" in r.body)),
    ),
    ModelBroken(
        "xml-xsi-attributes-refused",
        _ids("RK-HTTP-004"),
        with_store(Faults(), _refuse(lambda r: _xml(r) and b"xmlns:xsi" in r.body)),
    ),
    ModelBroken(
        "form-content-length-refused",
        _ids("RK-HTTP-002"),
        with_store(
            Faults(),
            _refuse(
                lambda r: r.content_type == "application/x-www-form-urlencoded" and not _chunked(r)
            ),
        ),
    ),
    ModelBroken(
        "plus-decoded-in-multipart",
        _ids("RK-PARAM-002"),
        with_store(Faults(), _plus_as_space_in_multipart),
    ),
    # format
    ModelBroken(
        "post-query-format-ignored-beside-a-body",
        _ids("RK-HTTP-009"),
        with_store(Faults(), _post_query_format_ignored_beside_a_body),
    ),
    ModelBroken(
        "xml-empty-format-answered-in-json",
        _ids("RK-FMT-002"),
        with_store(Faults(), _empty_format_element_as_json),
    ),
    ModelBroken(
        "format-lower-case-only", _ids("RK-FMT-003"), with_store(Faults(), _format_lower_case_only)
    ),
    # safety: a password echoed in one format's errors only; a key in an error
    ModelBroken(
        "echoes-password-in-plain-errors-only",
        _ids("RK-SAFE-002"),
        _echo_spelled(lambda p: p, Format.PLAIN),
    ),
    ModelBroken(
        "echoes-password-in-json-errors-only",
        _ids("RK-SAFE-002"),
        _echo_spelled(lambda p: p, Format.JSON),
    ),
    ModelBroken("last-key-in-error-reason", _ids("RK-SAFE-003"), _last_key_in_error("reason")),
    ModelBroken("last-key-in-error-header", _ids("RK-SAFE-003"), _last_key_in_error("header")),
    # accounts and rotation (the model's own catalogue entries)
    ModelBroken(
        "header-rotation-revokes-other-accounts",
        _ids("RK-ROT-008"),
        with_store(Faults(header_rotation_revokes_all=True)),
    ),
    ModelBroken(
        "revoked-key-issued-again", _ids("RK-ROT-007"), with_store(Faults(reissue_every=3))
    ),
    ModelBroken("head-rotates", _ids("RK-ROT-009"), _rotates_on("HEAD")),
    ModelBroken("put-rotates", _ids("RK-ROT-009"), _rotates_on("PUT")),
    # an extension method (FOO) reaches the app and rotates before its refusal
    ModelBroken("foo-rotates", _ids("RK-ROT-009"), _rotates_on("FOO")),
    ModelBroken(
        "counter-keys-dressed-as-uuids", _ids("RK-KEY-003"), with_store(Faults(counter_keys=True))
    ),
]
