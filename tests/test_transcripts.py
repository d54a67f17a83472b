"""Transcript vectors: the file is sound, the reference judge agrees with every
vector, a session recorded from the reference server is judged valid, and the
same session recorded from broken servers is judged to break their ids."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import jsonschema
import pytest

from conformance import ENDPOINT_PATH, Format, Level, catalogue, validate_body
from conformance.transport.loopback import serving
from conformance.vectors.suite import Vector, transcript_vectors, vector_document, vectors_schema
from conformance.vectors.transcripts import RULES, Kind, judge_transcript, read_transcript
from reference_impl.server import MemoryStore, build_app
from tests.servers.breaker import ASGI
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts, RacyStore
from tests.test_traceability import BEHAVIOURAL_MUSTS_WITHOUT_VECTORS

FILE = "transcripts.json"
# The behavioural MUSTs that only transcripts can hold (the list tests/test_traceability.py
# kept before transcript vectors existed).
BEHAVIOURAL = {
    "RK-AUTH-001", "RK-AUTH-004", "RK-AUTH-005", "RK-AUTH-006", "RK-AUTH-007",
    "RK-AUTH-008", "RK-CLI-002", "RK-ERR-005", "RK-FMT-001", "RK-FMT-002", "RK-FMT-003",
    "RK-FMT-004", "RK-HTTP-007", "RK-HTTP-010", "RK-ROT-001", "RK-ROT-002", "RK-ROT-003",
    "RK-ROT-004", "RK-ROT-005", "RK-ROT-006", "RK-SAFE-001", "RK-SAFE-002",
}  # fmt: skip


# --- the file ---------------------------------------------------------------------------


def test_the_file_is_a_vector_file_and_validates_against_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(vectors_schema())
    document = vector_document(FILE)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors[:5]
    vectors = transcript_vectors()
    assert vectors and {v.file for v in vectors} == {FILE}
    assert all(v.body is None and v.raw_request is None for v in vectors)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t["expect"].update(record={"status": "error"}),
        lambda t: t["expect"].update(params={}),
        lambda t: t["input"]["exchanges"][0].update(sent_at="now"),
        lambda t: t["input"]["exchanges"][0]["request"].update(body_base64="AA=="),
        lambda t: t["input"]["exchanges"][0]["request"]["headers"].append(["a b", "c"]),
        lambda t: t["input"]["exchanges"][0]["response"].update(status="200"),
        lambda t: t["input"]["exchanges"][0].update(reported={"key": "x"}),
        lambda t: t["input"]["given"].pop("password"),
        lambda t: t["input"].update(exchanges=[]),
    ],
    ids=["record", "params", "extra-key", "two-bodies", "bad-header", "status-string",
         "reported-name", "no-password", "no-exchanges"],
)  # fmt: skip
def test_the_schema_refuses_malformed_transcripts(mutate: Any) -> None:
    validator = jsonschema.Draft202012Validator(vectors_schema())
    document = copy.deepcopy(vector_document(FILE))
    assert validator.is_valid(document)
    mutate(document[0]["tests"][0])
    assert not validator.is_valid(document)


def test_a_bare_valid_expectation_is_only_for_transcripts() -> None:
    validator = jsonschema.Draft202012Validator(vectors_schema())
    inputs = [{"format": "json", "body": "{}"},
              {"raw_http_request": "GET / HTTP/1.1\r\n\r\n", "given": {"apiKey": "x"}}]  # fmt: skip
    for given in inputs:
        test = {"description": "x", "requirements": ["RK-KEY-001"], "input": given,
                "expect": {"valid": True}}  # fmt: skip
        group = {"description": "g", "requirements": ["RK-KEY-001"], "tests": [test]}
        assert not validator.is_valid([group]), given


def test_every_behavioural_must_has_a_transcript_breaking_exactly_it() -> None:
    alone = {next(iter(v.violates)) for v in transcript_vectors() if len(v.violates) == 1}
    assert alone >= BEHAVIOURAL, sorted(BEHAVIOURAL - alone)
    assert sum(v.valid for v in transcript_vectors()) >= 8
    assert not BEHAVIOURAL & BEHAVIOURAL_MUSTS_WITHOUT_VECTORS


def test_every_behavioural_must_has_a_rule_named_for_it() -> None:
    ruled = {r.rid for r in RULES}
    assert ruled >= BEHAVIOURAL, sorted(BEHAVIOURAL - ruled)
    for r in RULES:
        assert (r.test.__doc__ or "").startswith(r.rid + ": "), r.test.__name__
    names = [r.test.__name__ for r in RULES]
    assert len(set(names)) == len({id(r.test) for r in RULES})  # one name per function


def test_the_rules_judge_musts_and_shoulds_of_the_server_and_one_of_the_client() -> None:
    known = {r.id: r for r in catalogue()}
    for r in RULES:
        assert known[r.rid].level is not Level.MAY, r.rid
        assert known[r.rid].applies_to_server() or r.rid == "RK-CLI-002", r.rid
    assert {r.kind for r in RULES} == set(Kind)


# --- the reference judge agrees ---------------------------------------------------------


@pytest.mark.parametrize("vector", transcript_vectors(), ids=lambda v: v.label)
def test_the_reference_judge_agrees_with_every_transcript_vector(vector: Vector) -> None:
    assert vector.transcript is not None
    assert judge_transcript(vector.transcript) == vector.violates


@pytest.mark.parametrize(
    "vector", [v for v in transcript_vectors() if not v.valid], ids=lambda v: v.label
)
def test_each_invalid_transcript_is_valid_without_its_faulty_exchange(vector: Vector) -> None:
    """The fault is where the vector says: cut the transcript before the exchange
    that breaks it, and nothing is broken any more."""
    assert vector.transcript is not None
    seen = read_transcript(vector.transcript)
    exchanges = vector.transcript["exchanges"]
    for n in range(1, len(seen) + 1):
        prefix = {**vector.transcript, "exchanges": exchanges[:n]}
        if judge_transcript(prefix):
            break
    assert judge_transcript({**vector.transcript, "exchanges": exchanges[: n - 1] or []}) == set()
    assert judge_transcript(prefix) == vector.violates


# --- recording a session ----------------------------------------------------------------


FORM = ("Content-Type", "application/x-www-form-urlencoded")
BOUNDARY = "rk" + "9" * 12


def _multipart(fields: Sequence[tuple[str, str]]) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
             for n, v in fields]  # fmt: skip
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


class Recorder:
    """Sends requests to a server and keeps each exchange in the vector shape."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.base_url, self.user, self.password = base_url, user, password
        self.client = httpx.Client(timeout=10)
        self.exchanges: list[dict[str, Any]] = []
        self.key: str | None = None  # the last key read from an answer

    def send(self, method: str, query: str = "", body: bytes = b"",
             headers: Sequence[tuple[str, str]] = (), batch: int | None = None,
             ) -> dict[str, Any]:  # fmt: skip
        target = ENDPOINT_PATH + (f"?{query}" if query else "")
        response = self.client.request(method, self.base_url + target, content=body,
                                       headers=list(headers))  # fmt: skip
        exchange: dict[str, Any] = {
            "request": {
                "method": method,
                "target": target,
                "headers": [[n.decode(), v.decode()] for n, v in response.request.headers.raw],
                "body": body.decode(),
            },
            "response": {
                "status": response.status_code,
                "headers": [[n.decode(), v.decode()] for n, v in response.headers.raw],
                "body": response.content.decode(),
            },
        }
        if batch is not None:
            exchange["batch"] = batch
        for fmt in Format:
            record = validate_body(response.content, fmt).record
            if record is not None and record.api_key:
                self.key = record.api_key
        return exchange

    def do(self, *args: Any, **kwargs: Any) -> None:
        self.exchanges.append(self.send(*args, **kwargs))

    def creds(self, fmt: str | None = "json", password: str | None = None) -> str:
        pairs = [
            ("userId", self.user),
            ("password", self.password if password is None else password),
        ]
        pairs += [("format", fmt)] if fmt is not None else []
        return "&".join(f"{n}={v}" for n, v in pairs)

    def transcript(self) -> dict[str, Any]:
        given = {"userId": self.user, "password": self.password}
        return {"given": given, "exchanges": self.exchanges}


def session(r: Recorder) -> None:
    """A session that touches every behavioural rule."""
    form = (FORM,)
    r.do("POST", body=r.creds("json").encode(), headers=form)  # credentials
    r.do("POST", body=b"format=plain", headers=(FORM, ("apiKey", r.key or "")))  # the key
    old = r.key
    r.do("POST", body=b"format=xml", headers=(FORM, ("apiKey", old or "")))  # key rotated
    r.do("POST", body=b"format=json", headers=(FORM, ("apiKey", old or "")))  # old, refused
    r.do("POST", body=r.creds("json").encode(), headers=form)  # credentials keep working
    r.do("POST", body=r.creds("plain", password=r.password + "x").encode(), headers=form)
    r.do("POST", body=r.creds("html").encode(), headers=form)  # unknown format
    r.do("POST", body=b"format=xml", headers=form)  # no credentials
    r.do("POST", body=b"format=json", headers=(FORM, ("apiKey", "not-a-key")))
    r.do("POST", body=r.creds("xml", password="").encode(), headers=form)  # half a pair
    r.do("GET", query="format=plain", headers=(("apiKey", r.key or ""),))  # survived refusals
    r.do("GET", query=r.creds("JSON"))  # format case
    r.do("POST", body=r.creds(None).encode(), headers=form)  # default format
    r.do("POST", body=r.creds("").encode(), headers=form)
    r.do("GET", query=r.creds("xml"), headers=form)  # GET with a Content-Type
    r.do("POST", body=r.creds("json").encode(), headers=(FORM, ("apiKey", "")))  # empty header
    fields = (("userId", ""), ("password", ""), ("format", "json"))
    r.do(
        "POST",
        body=_multipart(fields),
        headers=(
            ("Content-Type", f"multipart/form-data; boundary={BOUNDARY}"),
            ("apikey", r.key or ""),
        ),
    )
    r.do("POST", body=f"userId={r.password}&password={r.password}&format=json".encode(),
         headers=form)  # the password where it does not belong  # fmt: skip
    r.do("POST", body=b"{}", headers=(("Content-Type", "application/json"),))  # not a request
    # Concurrent regenerations, then every returned key probed once.
    with ThreadPoolExecutor(max_workers=6) as pool:
        batch = list(pool.map(lambda _: r.send("POST", body=r.creds("json").encode(),
                                               headers=form, batch=1), range(6)))  # fmt: skip
    r.exchanges += batch
    returned = dict.fromkeys(
        record.api_key for e in batch
        if (record := validate_body(e["response"]["body"].encode(), Format.JSON).record)
        and record.api_key
    )  # fmt: skip
    for key in returned:
        r.do("POST", body=b"format=json", headers=(FORM, ("apiKey", key or "")))
    r.do("POST", body=r.creds("xml").encode(), headers=form)  # credentials still work


@contextmanager
def recorded(make: Any, store: MemoryStore | None = None) -> Iterator[Recorder]:
    store = store or MemoryStore()
    accounts = Accounts(f"Sandbox-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+&=ü")
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    app: ASGI = make(store, accounts)
    with serving(app) as base_url:
        recorder = Recorder(base_url, PLAIN_USER, accounts.plain_password)
        try:
            yield recorder
        finally:
            recorder.client.close()


def _reference(store: MemoryStore, accounts: Accounts) -> ASGI:
    return build_app(store)


def test_a_session_recorded_from_the_reference_server_is_valid() -> None:
    with recorded(_reference) as r:
        session(r)
    transcript = r.transcript()
    # It is a vector as recorded: it validates and the judge finds nothing broken.
    test = {"description": "recorded", "requirements": sorted(BEHAVIOURAL), "input": transcript,
            "expect": {"valid": True}}  # fmt: skip
    group = {"description": "g", "requirements": sorted(BEHAVIOURAL), "tests": [test]}
    validator = jsonschema.Draft202012Validator(vectors_schema())
    assert validator.is_valid([group]), next(iter(validator.iter_errors([group]))).message
    assert judge_transcript(transcript) == set()
    seen = read_transcript(transcript)
    assert sum(s.success for s in seen) >= 12 and sum(s.refused for s in seen) >= 6
    assert any(s.probe for s in seen) and any(s.in_batch for s in seen)
    # Every demand-owning kind of rule had something to judge.
    assert {s.auth for s in seen} >= {"key", "creds-right", "creds-wrong", "none"}


def test_tampering_with_a_recorded_session_is_caught() -> None:
    with recorded(_reference) as r:
        session(r)
    transcript = r.transcript()
    exchanges = transcript["exchanges"]
    # The old key's refusal becomes the success the first regeneration returned.
    tampered = copy.deepcopy(transcript)
    tampered["exchanges"][3]["response"] = copy.deepcopy(exchanges[0]["response"])
    assert "RK-ROT-002" in judge_transcript(tampered)
    # The refusal of the wrong password becomes a success in plain.
    tampered = copy.deepcopy(transcript)
    tampered["exchanges"][5]["response"] = copy.deepcopy(exchanges[1]["response"])
    assert judge_transcript(tampered) >= {"RK-AUTH-005"}
    # The client says an error served was a success.
    tampered = copy.deepcopy(transcript)
    tampered["exchanges"][7]["reported"] = {"status": "success", "apiKey": "0" * 32}
    assert judge_transcript(tampered) == {"RK-CLI-002"}


# Broken servers of tests/servers/broken.py whose fault the session shows, and the
# ids the judge names for them. The pair faults (RK-AUTH-002 with RK-ROT-003) are
# named by the transcript judge under the key it issued: RK-ROT-003.
CAUGHT = {
    "errors-always-plain": {"RK-ERR-005"},
    "success-is-201": {"RK-HTTP-010"},
    "no-get-with-type": {"RK-HTTP-007"},
    "no-credentials": {"RK-AUTH-001"},
    "anonymous-allowed": {"RK-AUTH-004"},
    "wrong-password-ok": {"RK-AUTH-005"},
    "malformed-keys-ok": {"RK-AUTH-006"},
    "empty-header-refused": {"RK-AUTH-007"},
    "empty-fields-refused": {"RK-AUTH-008"},
    "successes-always-plain": {"RK-FMT-001"},
    "default-json": {"RK-FMT-002"},
    "format-case-sensitive": {"RK-FMT-003"},
    "unknown-format-plain": {"RK-FMT-004"},
    "same-key": {"RK-ROT-001"},
    "old-keys-work": {"RK-ROT-002"},
    "issued-key-fake": {"RK-ROT-003"},
    "no-header-auth": {"RK-ROT-003"},
    "credentials-die": {"RK-ROT-004"},
    "racy-rotation": {"RK-ROT-005"},
    "refusals-rotate": {"RK-ROT-006"},
    "500-on-odd-types": {"RK-SAFE-001"},
    "echoes-password": {"RK-SAFE-002"},
}


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_a_session_recorded_from_a_broken_server_breaks_its_ids(name: str) -> None:
    (server,) = [s for s in BROKEN if s.name == name]
    store = RacyStore() if name == "racy-rotation" else None
    with recorded(server.make, store) as r:
        session(r)
    assert judge_transcript(r.transcript()) == CAUGHT[name]
    assert CAUGHT[name] <= server.fails | {"RK-ROT-003"}
