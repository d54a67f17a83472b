"""The id groups checks lean on, and the per-response rules (``response_rule``).

A per-response rule is a requirement true of every single response, whatever
request provoked it: no 5xx, no password echoed, the media type, HTTP 200 on a
success, a UUID key, no key in an error. Each is written here once, as a
function named for the property that must hold, whose docstring opens with its
id; the server suite's judge (conformance/server/context.py) and the
transcript judge (conformance/vectors/transcripts.py) both apply them, so the
two can never disagree about what a response may hold.

A rule reads a :class:`Response` and returns None when it holds, or what it
found instead (the ``actual`` of the failure). A rule that does not apply to a
response (HTTP 200 when nothing was issued) holds for it.

The body rules (each format's artefact, the envelopes, the key's shape
RK-KEY-001) are judged in one place too, by
:func:`conformance.validation.bodies.validate_body`, which both judges call;
this module names their id groups (:data:`BODY_RULES`), with the groups the
server checks lean on (:data:`FOUNDATION`, :data:`KEYED`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from conformance.judging.spellings import KnownKeys, echo_in, key_in
from conformance.protocol.records import MEDIA_TYPES, Format, Record
from conformance.spec.catalogue import is_known
from conformance.validation.bodies import validate_body

# --- id groups ------------------------------------------------------------------------

#: What nearly every server check leans on: credentials in a form body, with the
#: exact parameter names, working again after a regeneration. When one of these
#: has failed, the checks that need them are blocked rather than failed.
FOUNDATION = ("RK-HTTP-002", "RK-AUTH-001", "RK-PARAM-001", "RK-ROT-004")
#: Checks that send the current key: it must work (RK-AUTH-002) and must not be
#: rotated behind the suite's back by a refused request (RK-ROT-006).
KEYED = (*FOUNDATION, "RK-AUTH-002", "RK-ROT-006")
#: The body rules of each format's own artefact.
FORMAT_RULES = {
    Format.JSON: ("RK-JSON-001", "RK-JSON-002", "RK-JSON-003"),
    Format.XML: ("RK-XML-001", "RK-XML-002", "RK-XML-003"),
    Format.PLAIN: ("RK-PLAIN-001",),
}
#: The envelope rules a valid body satisfies: a success's, an error's.
ENVELOPE_RULES = {
    True: ("RK-SUCC-001", "RK-SUCC-002", "RK-SUCC-003", "RK-KEY-001"),
    False: ("RK-ERR-001", "RK-ERR-002", "RK-ERR-003", "RK-ERR-004"),
}
#: Every body rule: what validate_body judges of a body in its format.
BODY_RULES = (
    *FORMAT_RULES[Format.JSON],
    *FORMAT_RULES[Format.XML],
    *FORMAT_RULES[Format.PLAIN],
    *ENVELOPE_RULES[True],
    *ENVELOPE_RULES[False],
)


def body_rules(fmt: Format, is_success: bool) -> tuple[str, ...]:
    """The body requirements a valid body of this format and envelope satisfies."""
    return FORMAT_RULES[fmt] + ENVELOPE_RULES[is_success]


#: Media types each format may be labelled with.
MEDIA_ALIASES = {Format.XML: frozenset({"application/xml", "text/xml"})}


def media_types(fmt: Format) -> frozenset[str]:
    return MEDIA_ALIASES.get(fmt, frozenset({MEDIA_TYPES[fmt]}))


def read_any(body: bytes) -> Record | None:
    """What ``body`` carries, in whichever format it is valid (None: in none)."""
    for fmt in Format:
        record = validate_body(body, fmt).record
        if record is not None:
            return record
    return None


# --- per-response rules ---------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """One response as the per-response rules read it.

    ``record`` is what the body carries when it is valid in ``answered_in``
    (None: unreadable, or not read); ``passwords`` what the request submitted
    as a password; ``keys`` every key the run has seen issued, for any account.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    record: Record | None = None
    asked: Format | None = None  # the format the answer must be in
    answered_in: Format | None = None  # the format the body is valid in
    passwords: tuple[str, ...] = ()
    keys: KnownKeys = field(default_factory=KnownKeys)
    broken: frozenset[str] = frozenset()  # the body rules the body breaks
    method: str = "GET"  # the request's method

    @property
    def issued(self) -> str | None:
        """The key a success carries, in whatever format it is valid."""
        record = self.record
        return record.api_key if record is not None and record.is_success else None

    @property
    def is_error(self) -> bool:
        """A response that issued no key: an error envelope, or any 4xx."""
        if self.issued is not None:
            return False
        return self.status >= 400 or (self.record is not None and not self.record.is_success)


Judge = Callable[[Response], str | None]


@dataclass(frozen=True)
class ResponseRule:
    rid: str
    name: str
    message: str  # what must hold, as a failure states it
    expected: str
    judge: Judge
    expects: Callable[[Response], str] | None = None  # ``expected`` for this response

    def expected_for(self, response: Response) -> str:
        return self.expects(response) if self.expects is not None else self.expected


RESPONSE_RULES: dict[str, ResponseRule] = {}


def response_rule(
    rid: str, message: str, expected: str, expects: Callable[[Response], str] | None = None
) -> Callable[[Judge], Judge]:
    """Register a per-response rule named for its property, its docstring opening with rid."""

    def decorate(func: Judge) -> Judge:
        if not is_known(rid) or not (func.__doc__ or "").startswith(rid):
            raise ValueError(f"{func.__name__}: unknown id or a docstring without {rid}")
        if rid in RESPONSE_RULES:
            raise ValueError(f"{rid}: a response rule is registered twice")
        RESPONSE_RULES[rid] = ResponseRule(rid, func.__name__, message, expected, func, expects)
        return func

    return decorate


def response_rule_ids() -> frozenset[str]:
    """The ids judged on every response (what the traceability test accepts as a check)."""
    return frozenset(RESPONSE_RULES)


def judge(rid: str, response: Response) -> str | None:
    """What ``response`` shows against rule ``rid``: None when it holds."""
    return RESPONSE_RULES[rid].judge(response)


def broken(response: Response, rids: Iterable[str] | None = None) -> set[str]:
    """The ids of the rules (all, or ``rids``) ``response`` breaks."""
    chosen = RESPONSE_RULES if rids is None else rids
    return {rid for rid in chosen if RESPONSE_RULES[rid].judge(response) is not None}


#: Methods every general-purpose server implements (RFC 9110 section 9.1):
#: a 501 (Not Implemented) to any other is the answer RFC 9110 asks for.
IMPLEMENTED_METHODS = frozenset({"GET", "HEAD", "POST"})


@response_rule("RK-SAFE-001", "no 5xx for any client input", "a status below 500")
def no_server_error(r: Response) -> str | None:
    """RK-SAFE-001: no request, however malformed, gets a 5xx status; a 501 to a
    method other than GET, HEAD and POST is no fault (RFC 9110 section 9.1)."""
    if r.status == 501 and r.method.upper() not in IMPLEMENTED_METHODS:
        return None
    return None if r.status < 500 else f"HTTP {r.status}"


@response_rule(
    "RK-SAFE-002", "no response may contain the password", "no trace of the password sent"
)
def password_is_never_echoed(r: Response) -> str | None:
    """RK-SAFE-002: no response, headers included, holds a password the request submitted."""
    for password in r.passwords:
        where = echo_in(password, r.headers, r.body)
        if where is not None:
            return f"the password is {where}"
    return None


@response_rule(
    "RK-SAFE-003", "no error response may contain a key", "no key the run has seen issued"
)
def error_holds_no_key(r: Response) -> str | None:
    """RK-SAFE-003: no error response, body or headers, holds a key the run saw issued.

    Only keys the run knows count (issued to any account, in any spelling the
    redactor knows): a random 32-hex request id in an error is no key. An error
    body with an apiKey member breaks RK-ERR-004, which owns that fault.
    """
    if not r.is_error or "RK-ERR-004" in r.broken:
        return None  # an apiKey member in an error is RK-ERR-004's, one fault one id
    where = key_in(r.keys, r.headers, r.body) if r.keys else None
    return None if where is None else f"a key the run saw issued is {where}"


@response_rule("RK-HTTP-010", "a success is answered with HTTP 200", "HTTP 200")
def success_is_http_200(r: Response) -> str | None:
    """RK-HTTP-010: a successful regeneration is answered with HTTP 200."""
    success = r.issued is not None and r.answered_in is r.asked
    return None if not success or r.status == 200 else f"HTTP {r.status}"


@response_rule(
    "RK-KEY-002", "the key is a random (version 4) UUID", "version nibble 4, variant 8-b"
)
def key_is_random_uuid(r: Response) -> str | None:
    """RK-KEY-002: the key issued is a version 4 UUID (its version and variant digits)."""
    key = r.issued
    if key is None or r.answered_in is not r.asked or len(key) != 32:
        return None
    return None if key[12] == "4" and key[16] in "89ab" else f"{key[12]} and {key[16]}"


def _media_expected(r: Response) -> str:
    return " or ".join(sorted(media_types(r.asked))) if r.asked else "the format's media type"


@response_rule(
    "RK-FMT-005", "the media type names the format", "the format's media type", _media_expected
)
def media_type_names_format(r: Response) -> str | None:
    """RK-FMT-005: a body valid in the format asked for carries that format's media type."""
    if r.record is None or r.asked is None or r.answered_in is not r.asked:
        return None
    media = next((v for n, v in r.headers if n.lower() == "content-type"), "")
    media = media.split(";")[0].strip().lower()
    allowed = media_types(r.asked)
    return None if media in allowed else media or "(no Content-Type)"
