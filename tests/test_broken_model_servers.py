"""Broken servers off the beaten path are caught by exactly their ids (issue 15, acceptance).

tests/servers/broken_model.py holds one broken server per input dimension and
per new catalogue entry. Each is run through the server suite (strict, at
``check-server``'s default ``--max-examples``) and must report exactly the ids
its entry names: one seed here, three under ``slow``. The entries in
:data:`AWAITING` are not caught by the suite as it stands (each with what it
reports instead); they are strict xfails at the fast seed, so the day the
model-based suite catches one, its test says so and the entry leaves the list.
:data:`SEED_DEPENDENT` names those caught at the fast seed but not yet under
every seed (lenient xfails under ``slow``).

Each fault is also shown to be real: a few hand-written requests per server
(:data:`PROBES`) that see the fault, and see none against the reference server.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.broken import PLAIN_USER, TRICKY_USER, Accounts
from tests.servers.broken_model import BROKEN_MODEL, ModelBroken, mark_spelling
from tests.servers.unusual import evidence, reframing, reported, run_suite

SEED = 20261202
SLOW_SEEDS = (1, 77, 4242)
EXAMPLES = 25  # check-server's default

# Not caught at SEED by the suite as it stands: none (the last five, a NUL-padded
# password, multipart fields in another order or with a filename, <Account> with
# entities, and a POST-query format beside a body, are caught since 2026-12-02 04:30 UTC).
AWAITING: dict[str, str] = {}
# Caught at SEED but not yet under every seed of SLOW_SEEDS (none at the last measurement;
# earlier in the session: revoked-key-works-by-get, password-trailing-space-accepted, and
# head-rotates / put-rotates with RK-ROT-008 or RK-ROT-006 beside RK-ROT-009).
SEED_DEPENDENT: dict[str, str] = {}


def _judge(server: ModelBroken, seed: int) -> None:
    result = run_suite(
        server.make,
        framing="length" if server.spelling else None,
        rewrite=mark_spelling if server.spelling else None,
        seed=seed,
        examples=EXAMPLES,
        key_given=server.key_given,
    )
    found = reported(result)
    assert found == set(server.fails), evidence(result, found ^ set(server.fails))
    assert result.exit_code() == 1


def _cases(seeds: tuple[int, ...], slow: bool = False) -> list[Any]:
    """One case per server and seed; a server the suite does not catch yet is a
    strict xfail at SEED (deterministic: the same seed sends the same requests)
    and a lenient one under the other seeds, where a catch may depend on the draw."""
    cases = []
    for server in BROKEN_MODEL:
        reason = AWAITING.get(server.name) or (SEED_DEPENDENT.get(server.name) if slow else None)
        marks = [pytest.mark.xfail(strict=not slow, reason=reason)] if reason else []
        cases += [
            pytest.param(server, seed, id=f"{server.name}-{seed}", marks=marks) for seed in seeds
        ]
    return cases


@pytest.mark.parametrize(("server", "seed"), _cases((SEED,)))
def test_a_model_broken_server_is_caught_by_exactly_its_ids(server: ModelBroken, seed: int) -> None:
    _judge(server, seed)


@pytest.mark.slow
@pytest.mark.parametrize(("server", "seed"), _cases(SLOW_SEEDS, slow=True))
def test_a_model_broken_server_is_caught_under_other_seeds(server: ModelBroken, seed: int) -> None:
    _judge(server, seed)


def test_the_awaiting_list_names_only_servers_of_the_table() -> None:
    assert set(AWAITING) | set(SEED_DEPENDENT) <= {s.name for s in BROKEN_MODEL}
    assert len({s.name for s in BROKEN_MODEL}) == len(BROKEN_MODEL)


# --- each fault is real -------------------------------------------------------------------


@dataclass
class Client:
    base_url: str
    accounts: Accounts

    def send(
        self,
        method: str = "POST",
        body: bytes = b"",
        content_type: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        parts = urlsplit(self.base_url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        path = "/SMSApi/rest/regenerateAPIKey" + (f"?{urlencode(query)}" if query else "")
        sent = dict(headers or {})
        if content_type:
            sent["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body or None, headers=sent)
            return conn.getresponse().read()
        finally:
            conn.close()

    def form(self, password: str, user: str = PLAIN_USER, **extra: str) -> bytes:
        fields = {"userId": user, "password": password, "format": "plain", **extra}
        return self.send(body=urlencode(fields).encode(), content_type=FORM)

    def with_key(self, key: str, method: str = "POST", name: str = "apiKey") -> bytes:
        return self.send(method, query={"format": "plain"}, headers={name: key})

    def key(self, password: str | None = None, user: str = PLAIN_USER) -> str:
        pw = password or (
            self.accounts.plain_password if user == PLAIN_USER else self.accounts.tricky_password
        )
        found = issued(self.form(pw, user))
        assert found, "the right password did not authenticate"
        return found


FORM = "application/x-www-form-urlencoded"


def issued(body: bytes) -> str | None:
    match = re.search(rb"apiKey=([0-9a-f]{32})", body)
    return match.group(1).decode() if match else None


def multipart(
    fields: list[tuple[str, str]], bare: bool = False, filename: bool = False
) -> tuple[bytes, str]:
    out = b""
    for name, value in fields:
        quoted = name if bare else f'"{name}"'
        extra = '; filename="f.txt"' if filename else ""
        disposition = f"Content-Disposition: form-data; name={quoted}{extra}"
        out += f"--zz\r\n{disposition}\r\n\r\n{value}\r\n".encode()
    return out + b"--zz--\r\n", "multipart/form-data; boundary=zz"


XSI = (
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:noNamespaceSchemaLocation="account.xsd"'
)


def account_xml(
    password: str, declaration: bool = True, bom: bool = False, root: str = ""
) -> bytes:
    head = '<?xml version="1.0" encoding="UTF-8"?>' if declaration else ""
    text = f"{head}<Account{root}><userId>{PLAIN_USER}</userId><password>{password}</password>"
    return (b"\xef\xbb\xbf" if bom else b"") + (text + "<format>plain</format></Account>").encode()


def _revoked_by(method: str, name: str = "apiKey") -> Callable[[Client], bool]:
    def probe(c: Client) -> bool:
        first = c.key()
        assert issued(c.with_key(first)), "the key did not rotate"
        return issued(c.with_key(first, method, name)) is not None  # revoked: must fail

    return probe


def _near_miss(spell: Callable[[str], str]) -> Callable[[Client], bool]:
    return lambda c: issued(c.form(spell(c.accounts.plain_password))) is not None


def _refused(body: Callable[[Client], tuple[bytes, str]]) -> Callable[[Client], bool]:
    return lambda c: issued(c.send(body=body(c)[0], content_type=body(c)[1])) is None


def _plain_fields(c: Client) -> list[tuple[str, str]]:
    return [("userId", PLAIN_USER), ("password", c.accounts.plain_password), ("format", "plain")]


def _refs(text: str) -> str:
    return "".join(f"&#{ord(ch)};" for ch in text)


def _empty_format_answered_in_json(c: Client) -> bool:
    body = account_xml(c.accounts.plain_password).replace(b">plain<", b"><")
    return c.send(body=body, content_type="application/xml").lstrip().startswith(b"{")


def _other_account_revoked(c: Client) -> bool:
    theirs = c.key(user=TRICKY_USER)
    ours = c.key()
    assert issued(c.with_key(ours)), "the header did not rotate"
    return issued(c.with_key(theirs)) is None  # the other account's key must still work


def _reissued(c: Client) -> bool:
    keys = [c.key() for _ in range(6)]
    return len(set(keys)) < len(keys)


def _rotated_by(method: str) -> Callable[[Client], bool]:
    def probe(c: Client) -> bool:
        key = c.key()
        c.with_key(key, method)
        return issued(c.with_key(key)) is None  # the key must have survived

    return probe


def _counter(c: Client) -> bool:
    first, second = int(c.key(), 16), int(c.key(), 16)
    return 0 < abs(second - first) < 1 << 16


def _format_ignored(c: Client) -> bool:
    fields = {"userId": PLAIN_USER, "password": c.accounts.plain_password}
    answer = c.send(body=urlencode(fields).encode(), content_type=FORM, query={"format": "json"})
    return not answer.lstrip().startswith(b"{")


PROBES: dict[str, Callable[[Client], bool]] = {
    "revoked-key-works-by-get": _revoked_by("GET"),
    "revoked-key-works-lower-case-header": _revoked_by("POST", "apikey"),
    "password-case-insensitive": _near_miss(str.swapcase),
    "password-prefix-accepted": _near_miss(lambda p: p[:6]),
    "password-one-short-accepted": _near_miss(lambda p: p[:-1]),
    "password-trailing-space-accepted": _near_miss(lambda p: p + "  "),
    "password-trimmed": _near_miss(lambda p: f" {p} "),
    "password-nul-padded-accepted": _near_miss(lambda p: p + "\x00\x00"),
    "multipart-order-refused": _refused(lambda c: multipart(_plain_fields(c)[::-1])),
    "multipart-bare-names-refused": _refused(lambda c: multipart(_plain_fields(c), bare=True)),
    "multipart-filename-refused": _refused(lambda c: multipart(_plain_fields(c), filename=True)),
    "xml-bom-refused": _refused(
        lambda c: (account_xml(c.accounts.plain_password, bom=True), "application/xml")
    ),
    "xml-without-declaration-refused": _refused(
        lambda c: (account_xml(c.accounts.plain_password, declaration=False), "application/xml")
    ),
    "xml-cdata-refused": _refused(
        lambda c: (account_xml(f"<![CDATA[{c.accounts.plain_password}]]>"), "application/xml")
    ),
    "xml-entities-refused": _refused(
        lambda c: (account_xml(_refs(c.accounts.plain_password)), "application/xml")
    ),
    "xml-xsi-attributes-refused": _refused(
        lambda c: (account_xml(c.accounts.plain_password, root=XSI), "application/xml")
    ),
    "xml-empty-format-answered-in-json": _empty_format_answered_in_json,
    "post-query-format-ignored-beside-a-body": _format_ignored,
    "header-rotation-revokes-other-accounts": _other_account_revoked,
    "revoked-key-issued-again": _reissued,
    "head-rotates": _rotated_by("HEAD"),
    "put-rotates": _rotated_by("PUT"),
    "foo-rotates": _rotated_by("FOO"),
    "counter-keys-dressed-as-uuids": _counter,
}


@contextmanager
def _served(server: ModelBroken | None) -> Iterator[Client]:
    accounts = Accounts("Sandbox-probe-123", "Tr1cky probe+&=%41ü")
    store = MemoryStore()
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    with ExitStack() as stack:
        app = server.make(store, accounts) if server else build_app(store)
        base_url = stack.enter_context(serving(app))
        if server is None or server.spelling:
            base_url = stack.enter_context(reframing(base_url, "length", mark_spelling))
        yield Client(base_url, accounts)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_the_fault_is_real_and_the_reference_server_has_none(name: str) -> None:
    (server,) = [s for s in BROKEN_MODEL if s.name == name]
    with _served(server) as client:
        assert PROBES[name](client), f"{name}: the probe does not see the fault"
    with _served(None) as client:
        assert not PROBES[name](client), f"{name}: the probe sees a fault in the reference server"
