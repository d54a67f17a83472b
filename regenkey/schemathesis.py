"""Schemathesis extension: judge the regenerateAPIKey endpoint the kit's way.

Load it the standard way (docs/SCHEMATHESIS.md)::

    SCHEMATHESIS_HOOKS=regenkey.schemathesis schemathesis run http://127.0.0.1:8080/openapi.yaml

Importing this module registers, for the endpoint only:

- checks that judge every GET/POST response with the kit's validators for the
  format the request asked for (plain, JSON and XML), the HTTP status rules,
  the password echo and the key lifecycle, each failure naming its id;
- the credentials from ``REGENKEY_USER_ID`` / ``REGENKEY_PASSWORD`` /
  ``REGENKEY_API_KEY``, put into positive cases only, with the key kept current
  across rotations (and, now and then, the key just revoked, to prove it dead);
- OpenAPI links from every 200 answer to a request carrying the key it
  issued, so the stateful phase proves the new key works, with deserializers
  that let links read plain and XML bodies.

It uses only the kit's public API (``conformance``) and Schemathesis' own.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import cycle
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, DeserializationContext, HookContext, Response
from schemathesis.generation.meta import TestPhase

from conformance import ENDPOINT_PATH, Format, Redactor, parse_xml
from conformance.judging.spellings import spellings
from regenkey.schemathesis_cases import (
    Asked,
    Credentials,
    asked,
    can_put_password,
    clean_key_request,
    format_carrier,
    is_ours,
    is_positive,
    kind,
    put_key,
    put_password,
    sent_key,
)
from regenkey.schemathesis_keys import LEDGER, Outcome, read, read_record, verdicts

__all__ = [
    "body_is_valid_in_the_asked_format",
    "key_lifecycle_holds",
    "response_hides_the_password",
    "status_follows_the_envelope",
]

# Answers with no envelope to judge: a probe's wrong method or path, a body too
# large, and a body type refused (415: that refusal is RK-HTTP-002..005, which only
# check-server can tell from a format fault, so the body is not blamed for it).
NO_BODY_STATUSES = (404, 405, 413, 415)
# How a positive case authenticates; drawn by Hypothesis, so it shrinks and replays.
AUTH_CHOICES = ("password", "key", "revoked-key")
# Phases whose cases are built directly, not drawn from a Hypothesis strategy:
# ``flatmap_case`` never sees them, so ``before_call`` authenticates them in turn.
DIRECT_PHASES = (TestPhase.EXAMPLES, TestPhase.COVERAGE)
_DIRECT_CHOICES = cycle(AUTH_CHOICES)
_LIFECYCLE: dict[str, list[tuple[str, str]]] = {}  # case id -> broken rotation rules
_AUTHENTIC: dict[str, bool] = {}  # case id -> sent the right credentials


# A run of hex digits in a message: a key, or a piece of one that a validator's
# quote of the body cut short (no message of the extension needs one).
_HEX_RUN = re.compile(r"[0-9a-fA-F]{8,}")


def _redactor() -> Redactor:
    """The password and every key the run has seen, in every spelling."""
    creds = Credentials.from_env()
    return Redactor([s for s in (creds.password, creds.api_key, *LEDGER.keys()) if s])


def _fail(broken: list[tuple[str, str]]) -> None:
    """One AssertionError naming every broken id, secrets masked."""
    if broken:
        redact = _redactor()
        lines = (_HEX_RUN.sub("[REDACTED]", redact(f"{rid}: {msg}")) for rid, msg in broken)
        raise AssertionError("\n".join(lines))


def _judged(case: Case[Any], response: Response) -> bool:
    return is_ours(case) and response.status_code not in NO_BODY_STATUSES


# --- schema: links for the stateful phase ----------------------------------------------
def _links(operations: dict[str, str]) -> dict[str, Any]:
    links: dict[str, Any] = {}
    for method, operation_id in operations.items():
        name = method.capitalize()
        links[f"NewKeyWorks{name}"] = {
            "operationId": operation_id,
            "description": "The key in a JSON or XML answer authenticates the next request.",
            "parameters": {"header.apiKey": "$response.body#/apiKey"},
        }
        links[f"NewPlainKeyWorks{name}"] = {
            "operationId": operation_id,
            "description": "The key in a plain answer authenticates the next request.",
            "parameters": {"header.apiKey": "$response.body#regex:apiKey=([0-9a-fA-F]+)"},
        }
    return links


@schemathesis.hook
def before_load_schema(context: HookContext, raw_schema: dict[str, Any]) -> None:
    """Add the rotation links to this endpoint's 200 answers (other APIs are left alone)."""
    item = (raw_schema.get("paths") or {}).get(ENDPOINT_PATH)
    if not isinstance(item, dict):
        return
    operations = {
        method: op["operationId"]
        for method, op in item.items()
        if method in ("get", "post") and isinstance(op, dict) and "operationId" in op
    }
    for method in operations:
        answer = item[method].get("responses", {}).get("200")
        if not isinstance(answer, dict):
            continue
        ref = answer.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/responses/"):
            shared = raw_schema.get("components", {}).get("responses", {})
            answer = shared.get(ref.rsplit("/", 1)[1])
        if isinstance(answer, dict):
            answer.setdefault("links", {}).update(_links(operations))


# --- deserializers, so that links read plain and XML bodies ------------------------------
@schemathesis.deserializer("application/xml", "text/xml")
def deserialize_xml(ctx: DeserializationContext, response: Response) -> Any:
    """An XML answer as its record's fields (leniently, for links, when it is invalid)."""
    record = verdicts(bytes(response.content))[Format.XML].record
    if record is not None:
        return record.as_dict()
    try:
        root = parse_xml(response.content)
    except Exception:  # the kit's check names the broken XML rule; Schemathesis sees text
        return response.content.decode("utf-8", errors="replace")
    return {child.tag: (child.text or "") for child in root}


@schemathesis.deserializer("application/json")
def deserialize_json(ctx: DeserializationContext, response: Response) -> Any:
    """Schemathesis' own JSON reading, except that a body too deeply nested to
    read is handed over as text: raised here, Schemathesis 4.32 ends the run with
    exit code 0 although it found failures; as text, its own later reading of the
    body stops the run with an internal error (exit 2), never a false pass."""
    try:
        return response.json()
    except RecursionError:
        return response.content.decode("utf-8", errors="replace")


@schemathesis.deserializer("text/plain")
def deserialize_plain(ctx: DeserializationContext, response: Response) -> Any:
    """A plain answer stays text (the spec's schema for it is a string)."""
    return response.content.decode("utf-8", errors="replace")


# --- credentials ----------------------------------------------------------------------
def _authenticate(case: Case[Any], choice: str) -> Case[Any]:
    creds = Credentials.from_env()
    LEDGER.start(creds.api_key)
    linked = sent_key(case)
    if linked is not None and LEDGER.known(linked):
        put_key(case, linked)  # an OpenAPI link's key: keep it, alone
        return case
    key = LEDGER.previous() if choice == "revoked-key" else LEDGER.current
    if choice == "password" and can_put_password(case, creds):
        put_password(case, creds)
    elif key is not None:
        put_key(case, key)
    elif can_put_password(case, creds):
        put_password(case, creds)
    elif LEDGER.current is not None:
        put_key(case, LEDGER.current)
    return case


@schemathesis.hook
def flatmap_case(context: HookContext, case: Case[Any]) -> st.SearchStrategy[Case[Any]]:
    """Credentials into positive cases only: a negative case made valid would be a
    false 'invalid data accepted'."""
    if not is_ours(case) or not is_positive(case):
        return st.just(case)
    return st.sampled_from(AUTH_CHOICES).map(lambda choice: _authenticate(case, choice))


# --- the key ledger --------------------------------------------------------------------
def _built_directly(case: Case[Any]) -> bool:
    """A case of the examples or coverage phase: Schemathesis builds those
    without a strategy, so ``flatmap_case`` never sees them."""
    meta = case.meta
    return meta is not None and meta.phase.name in DIRECT_PHASES


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    """Credentials into the positive cases no strategy built, the forms taken in
    turn, as the request is sent (so the key is the current one). Left bare,
    their placeholder credentials are refused: that tests nothing, and costs a
    correct server a full password hash per request."""
    if not is_ours(case):
        return
    if is_positive(case) and _built_directly(case):
        _authenticate(case, next(_DIRECT_CHOICES))
    LEDGER.before_send(case.id)


@schemathesis.hook
def after_call(context: HookContext, case: Case[Any], response: Response) -> None:
    if not is_ours(case):
        return
    if response.status_code in NO_BODY_STATUSES:
        LEDGER.lost(case.id)
        return
    key = sent_key(case)
    _AUTHENTIC[case.id] = (key is not None and key == LEDGER.current) or _has_password(case)
    found = read(response.content)
    wanted = asked(case)
    if found and found[1].is_success and found[0] in wanted.formats and found[0] != Format.PLAIN:
        if wanted.mixed_case:
            LEDGER.case_proven.add(format_carrier(case))
        elif wanted.value in set(Format):
            LEDGER.lower_proven.add(format_carrier(case))
    outcome = Outcome.of(response.status_code, response.content)
    clean = clean_key_request(case, format_carrier(case) in LEDGER.case_proven)
    _LIFECYCLE[case.id] = LEDGER.observe(case.id, key, kind(case), clean, outcome)


def _has_password(case: Case[Any]) -> bool:
    """The request carries the account's own userId and password."""
    creds = Credentials.from_env()
    if not creds.has_password:
        return False
    query = case.query if isinstance(case.query, dict) else {}
    body = case.body if isinstance(case.body, dict) else {}
    return any(
        place.get("userId") == creds.user_id and place.get("password") == creds.password
        for place in (query, body)
    )


@schemathesis.hook
def after_network_error(context: HookContext, case: Case[Any], request: Any) -> None:
    LEDGER.lost(case.id)


# --- checks ---------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _spellings(password: str) -> frozenset[str]:
    """The password's spellings (the kit's one generator), made once per run."""
    return frozenset(spellings(password))


@schemathesis.check
def body_is_valid_in_the_asked_format(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """RK-FMT-001..004, RK-PLAIN/JSON/XML/SUCC/KEY/ERR: the body is valid in the
    format the request asked for (plain by default, any letter case)."""
    authentic = _AUTHENTIC.pop(case.id, False)
    if not _judged(case, response) or response.status_code >= 500:
        return None
    wanted = asked(case)
    judged = verdicts(bytes(response.content))
    good = [judged[f] for f in sorted(wanted.formats) if judged[f].record is not None]
    if good:
        record = good[0].record
        if wanted.unknown and record is not None and record.is_success:
            _fail([("RK-FMT-004", "an unknown format value was answered with a new key")])
        return True
    for fmt in Format:
        other = judged[fmt].record
        if fmt not in wanted.formats and other is not None:
            carrier = format_carrier(case)
            proven, lower = carrier in LEDGER.case_proven, carrier in LEDGER.lower_proven
            rid = wanted.rule(other.is_success, authentic, proven, fmt, lower)
            if rid is None:
                return None
            asked_for = "/".join(sorted(f.value for f in wanted.formats))
            _fail([(rid, f"asked for {asked_for}, answered in {fmt.value}")])
    _fail([(v.requirement, v.message) for v in judged[_likely(response, wanted)].violations])
    return True


def _likely(response: Response, wanted: Asked) -> Format:
    """Which asked-for format the broken body was meant to be, to name its ids."""
    formats: list[Format] = sorted(wanted.formats)
    if len(formats) == 1:
        return formats[0]
    head = response.content.lstrip()[:1]
    guess = {b"<": Format.XML, b"{": Format.JSON}.get(head, Format.PLAIN)
    return guess if guess in formats else formats[0]


@schemathesis.check
def status_follows_the_envelope(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """RK-SAFE-001, RK-HTTP-010, RK-ERR-005: no 5xx; a success is HTTP 200; an error 200 or 4xx."""
    if not is_ours(case):
        return None
    status = response.status_code
    if status >= 500:
        _fail([("RK-SAFE-001", f"HTTP {status}: no client input may get a 5xx")])
    if status in NO_BODY_STATUSES:
        return None
    record = read_record(response.content)
    if record is not None and record.is_success and status != 200:
        _fail([("RK-HTTP-010", f"a success was answered with HTTP {status}, not 200")])
    if record is not None and not record.is_success and status != 200 and not 400 <= status < 500:
        _fail([("RK-ERR-005", f"an error was answered with HTTP {status}, not 200 or a 4xx")])
    return True


@schemathesis.check
def response_hides_the_password(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """RK-SAFE-002: no response contains the password (REGENKEY_PASSWORD), in any spelling."""
    password = Credentials.from_env().password
    if not is_ours(case) or password is None or len(password) < 6:
        return None
    text = response.content.decode("utf-8", errors="replace")
    if any(form in text for form in _spellings(password)):
        _fail([("RK-SAFE-002", "the response contains the password")])
    return True


@schemathesis.check
def key_lifecycle_holds(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """RK-ROT-001..003, RK-ROT-007: each key is new, the revoked key is refused,
    the new one works, and no revoked key is issued again."""
    broken = _LIFECYCLE.pop(case.id, None)
    if broken is None:
        return None
    _fail(broken)
    return True
