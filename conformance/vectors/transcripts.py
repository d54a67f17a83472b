"""The reference judge of transcript vectors: HTTP exchanges judged as a whole.

A transcript (shape in ``VECTORS.md``) holds what no single body or request
can: who may authenticate, what a request rotates, which format answers. The
judge replays it against a model of the account's keys and applies one rule
per requirement, as the server checks and (RK-CLI-002) the client suite do.
One fault, one id: a body in the wrong format, a refusal of a request that
must regenerate, or a key for one that must not, is owned by one rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import groupby
from typing import Any

from conformance.client.app import BodyKind, RecordedRequest
from conformance.judging.spellings import echo_in
from conformance.protocol.records import ENDPOINT_PATH, Format, Record
from conformance.spec.catalogue import is_known
from conformance.validation.bodies import validate_body
from conformance.vectors.suite import decode_body

NAMES, LOWER = ("userId", "password", "format"), ("userid", "password", "format")
BASIS = {"creds": {"RK-AUTH-001", "RK-ROT-004"}, "key": {"RK-ROT-003", "RK-ROT-006"}}
BLOCKERS = {"RK-ROT-002", "RK-ROT-003", "RK-ROT-006"}  # RK-ROT-005 leans on them
UNREAD = (404, 405, 413)  # answers whose body is not judged, as in check-server


class Kind(StrEnum):
    HOLDS = "holds"  # true of every exchange
    FORMAT = "format"  # owns a body valid only in another format than asked
    FEATURE = "feature"  # owns a refusal of a way of authenticating that worked before
    SUCCEED = "succeed"  # owns a refusal of a request that must regenerate the key
    REFUSE = "refuse"  # owns a key issued for a request that must be refused


@dataclass
class Seen:
    """One exchange as the judge reads it, and what the transcript showed before it."""

    request: RecordedRequest
    params: dict[str, str]  # the first value of each parameter, exact names
    key: str | None  # the non-empty apiKey header
    auth: str  # key, creds-right, creds-wrong, both, none, or unclear (a name misspelt)
    asked: Format | None  # None: an unknown format value
    status: int
    body: bytes
    passwords: tuple[str, ...]  # what the request submitted as a password
    reported: Mapping[str, str] | None
    judged: bool  # on the endpoint, by GET or POST
    record: Record | None = None  # what the body carries, in whichever format it is valid
    answered_in: Format | None = None
    body_ids: frozenset[str] = frozenset()
    in_batch: bool = False
    role: str | None = None  # the header key: current, revoked, candidate, unknown, lost
    creds_worked: bool = False  # credentials authenticated earlier
    header_worked: bool = False  # an apiKey header authenticated earlier
    refused_since_issue: bool = False  # a refusal came after the current key was issued
    previous: str | None = None  # the key a success must differ from
    probe: tuple[int, int, int] | None = None  # a batch's keys: working, probed, returned
    failed: frozenset[str] = frozenset()  # ids broken earlier: what leans on them is not judged
    response_headers: tuple[tuple[str, str], ...] = ()

    @property
    def expected(self) -> Format:
        return self.asked or Format.PLAIN

    @property
    def issued(self) -> str | None:  # the key the body carries, in whatever format
        return self.record.api_key if self.record and self.record.is_success else None

    @property
    def success(self) -> bool:
        return self.issued is not None and self.answered_in is self.expected

    @property
    def refused(self) -> bool:
        clean = self.record is not None and not self.record.is_success
        return self.status in UNREAD or (clean and self.answered_in is self.expected)

    @property
    def baseline(self) -> bool:
        """GET with a query, POST with a form: other encodings have rules of their own."""
        r, kind = self.request, self.request.body_kind
        get = r.method == "GET" and kind is None
        post = (
            r.method == "POST"
            and not r.query
            and (kind is BodyKind.FORM or (kind is BodyKind.MULTIPART and self.auth == "key"))
        )
        plain = re.fullmatch(r"[A-Za-z0-9._~-]*", self.params.get("password", "")) is not None
        return (get or post) and plain and not r.header_values("transfer-encoding")


Scope = Callable[[Seen], bool]


@dataclass(frozen=True)
class Rule:
    rid: str
    kind: Kind
    test: Scope


RULES: list[Rule] = []


def rule(rid: str, *kinds: Kind) -> Callable[[Scope], Scope]:
    """Register a rule named for the property that must hold, its docstring opening with rid."""

    def decorate(func: Scope) -> Scope:
        if not is_known(rid) or not (func.__doc__ or "").startswith(rid):
            raise ValueError(f"{func.__name__}: unknown id or a docstring without {rid}")
        RULES.extend(Rule(rid, kind, func) for kind in kinds)
        return func

    return decorate


@rule("RK-SAFE-001", Kind.HOLDS)
def no_server_error(s: Seen) -> bool:
    """RK-SAFE-001: no request, however malformed, gets a 5xx status."""
    return s.status < 500


@rule("RK-SAFE-002", Kind.HOLDS)
def password_is_never_echoed(s: Seen) -> bool:
    """RK-SAFE-002: no response, headers included, holds a password the request submitted."""
    return not any(echo_in(p, s.response_headers, s.body) for p in s.passwords)


@rule("RK-HTTP-010", Kind.HOLDS)
def success_is_http_200(s: Seen) -> bool:
    """RK-HTTP-010: a successful regeneration is answered with HTTP 200."""
    return not s.judged or not s.success or s.status == 200


@rule("RK-ROT-001", Kind.HOLDS)
def new_key_differs(s: Seen) -> bool:
    """RK-ROT-001: a regeneration returns a key other than the account's previous one."""
    return s.in_batch or not s.judged or s.issued is None or s.issued != s.previous


@rule("RK-ROT-005", Kind.HOLDS)
def concurrent_rotation_leaves_one_key(s: Seen) -> bool:
    """RK-ROT-005: of the keys concurrent regenerations returned, exactly one works."""
    working, probed, returned = s.probe or (1, 0, 1)
    blocked = BLOCKERS & s.failed or not (s.header_worked and s.judged)
    return bool(blocked) or (working <= 1 and (probed < returned or working == 1))


@rule("RK-CLI-002", Kind.HOLDS)
def client_reports_errors_as_errors(s: Seen) -> bool:
    """RK-CLI-002: a client never reports an error as a success, nor a key not served."""
    if s.reported is None or s.record is None:
        return True
    key = s.reported.get("apiKey")
    invented = bool(key) and key != s.record.api_key
    return not invented and (s.record.is_success or s.reported.get("status") != "success")


@rule("RK-FMT-004", Kind.FORMAT, Kind.REFUSE)
def unknown_format_is_refused_in_plain(s: Seen) -> bool:
    """RK-FMT-004: an unknown format value gets the error envelope in plain, no key."""
    return s.asked is None


@rule("RK-AUTH-008", Kind.FEATURE)
def empty_fields_beside_header_are_ignored(s: Seen) -> bool:
    """RK-AUTH-008: empty userId/password fields beside a valid header count as absent."""
    return s.auth == "key" and ("userId" in s.params or "password" in s.params)


@rule("RK-AUTH-007", Kind.FEATURE)
def empty_header_beside_credentials_is_ignored(s: Seen) -> bool:
    """RK-AUTH-007: an empty apiKey header beside valid credentials counts as absent."""
    return s.auth == "creds-right" and "" in [v.strip() for v in s.request.header_values("apiKey")]


@rule("RK-HTTP-007", Kind.FEATURE)
def get_with_content_type_is_accepted(s: Seen) -> bool:
    """RK-HTTP-007: a GET with a Content-Type and an empty body reads the query."""
    r = s.request
    return r.method == "GET" and bool(r.header_values("content-type")) and not r.body


@rule("RK-FMT-003", Kind.FORMAT, Kind.FEATURE)
def format_case_is_ignored(s: Seen) -> bool:
    """RK-FMT-003: JSON, Json and json ask for the same format."""
    return "RK-FMT-001" not in s.failed and (v := s.params.get("format", "")) != v.lower()


@rule("RK-FMT-002", Kind.FORMAT, Kind.FEATURE)
def plain_is_the_default(s: Seen) -> bool:
    """RK-FMT-002: without a format, or with an empty one, the key is served in plain."""
    return not s.params.get("format")


@rule("RK-FMT-001", Kind.FORMAT)
def format_selects_rendering(s: Seen) -> bool:
    """RK-FMT-001: a regeneration answers in the format asked for."""
    return s.record is not None and s.record.is_success


@rule("RK-ERR-005", Kind.FORMAT)
def error_uses_requested_format(s: Seen) -> bool:
    """RK-ERR-005: an error is rendered in the format asked for."""
    return True


@rule("RK-ROT-006", Kind.SUCCEED)
def refused_request_keeps_key(s: Seen) -> bool:
    """RK-ROT-006: a refused request leaves the current key valid."""
    return s.auth == "key" and s.header_worked and s.refused_since_issue


@rule("RK-ROT-003", Kind.SUCCEED)
def new_key_works(s: Seen) -> bool:
    """RK-ROT-003: the key a regeneration returned authenticates in the apiKey header."""
    return s.auth == "key"  # with a key never shown to work, RK-AUTH-002 too: named as one


@rule("RK-ROT-004", Kind.SUCCEED)
def credentials_keep_working(s: Seen) -> bool:
    """RK-ROT-004: credentials that worked keep working after a regeneration."""
    return s.auth == "creds-right" and s.creds_worked


@rule("RK-AUTH-001", Kind.SUCCEED)
def credentials_authenticate(s: Seen) -> bool:
    """RK-AUTH-001: the registered userId and its password regenerate the key."""
    return s.auth == "creds-right"


@rule("RK-ROT-002", Kind.REFUSE)
def old_key_is_revoked(s: Seen) -> bool:
    """RK-ROT-002: a key replaced by a regeneration no longer authenticates."""
    return s.auth == "key" and s.role == "revoked"


@rule("RK-AUTH-006", Kind.REFUSE)
def bad_api_key_is_refused(s: Seen) -> bool:
    """RK-AUTH-006: an unknown or malformed apiKey header issues no key."""
    return s.auth == "key" and s.role == "unknown"


@rule("RK-AUTH-005", Kind.REFUSE)
def wrong_credentials_are_refused(s: Seen) -> bool:
    """RK-AUTH-005: a wrong password, an unknown user, or half a pair issues no key."""
    return s.auth == "creds-wrong"


@rule("RK-AUTH-004", Kind.REFUSE)
def unauthenticated_request_is_refused(s: Seen) -> bool:
    """RK-AUTH-004: no credentials and no apiKey header issue no key."""
    return s.auth == "none"


def read_exchange(exchange: Mapping[str, Any], given: Mapping[str, str]) -> Seen:
    """One exchange, its request read as a server reads it, its body judged."""
    req, resp = exchange["request"], exchange["response"]
    path, _, query = str(req["target"]).partition("?")
    headers = tuple((str(n), str(v)) for n, v in req["headers"])
    request = RecordedRequest(
        req["method"], path, query.encode("latin-1"), headers, decode_body({"body": "", **req})
    )
    found, _problem = request.params()
    params = {p.name: p.value for p in reversed(found)}  # the first value of each
    misspelt = any(p.name not in NAMES and p.name.lower() in LOWER for p in found)
    key = next((v.strip() for v in request.header_values("apiKey") if v.strip()), None)
    creds = bool(params.get("userId")) or bool(params.get("password"))
    right = (params.get("userId"), params.get("password")) == (given["userId"], given["password"])
    auth = "creds-right" if right else "creds-wrong" if creds else "none"
    auth = "unclear" if misspelt else ("both" if creds else "key") if key else auth  # RK-AUTH-009
    s = Seen(
        request,
        params,
        key,
        auth,
        Format.parse(params.get("format")),
        int(resp["status"]),
        decode_body({"body": "", **resp}),
        tuple(p.value for p in found if p.name == "password"),
        exchange.get("reported"),
        judged=path == ENDPOINT_PATH and request.method in ("GET", "POST"),
        response_headers=tuple((str(n), str(v)) for n, v in resp.get("headers", ())),
    )
    if s.status < 500 and s.status not in UNREAD:
        verdict = validate_body(s.body, s.expected)
        s.record, s.answered_in, s.body_ids = verdict.record, s.expected, verdict.requirement_ids
        for other in Format:
            alt = validate_body(s.body, other) if s.record is None and other != s.expected else None
            if alt is not None and alt.record is not None:  # valid, in another format
                s.record, s.answered_in, s.body_ids = alt.record, other, frozenset()
    return s


@dataclass
class Keys:
    """What the judge knows of the account's keys, exchange by exchange."""

    current: str | None
    revoked: set[str] = field(default_factory=set)
    candidates: list[str] = field(default_factory=list)  # returned by the last batch
    probed: set[str] = field(default_factory=set)
    working: int = 0  # candidates that authenticated
    lost: bool = False  # an unreadable answer may have rotated the key
    creds_worked: bool = False
    header_worked: bool = False
    refused_since_issue: bool = False
    failed: set[str] = field(default_factory=set)

    def role(self, key: str | None) -> str:  # read only of a request that sends a key
        if key in self.candidates:
            return "candidate" if key not in self.probed else "revoked" if self.working else "lost"
        if key == self.current:
            return "lost" if self.lost else "current"
        return "revoked" if key in self.revoked else "lost" if self.lost else "unknown"

    def settle(self) -> None:  # the probes of a batch's keys are over
        if self.candidates:
            if self.working:
                self.revoked |= set(self.candidates) - {self.current or ""}
            self.lost = not self.working
            self.candidates, self.probed, self.working = [], set(), 0

    def before(self, s: Seen, in_batch: bool) -> None:
        s.in_batch, s.role = in_batch, self.role(s.key)
        s.creds_worked, s.header_worked = self.creds_worked, self.header_worked
        s.refused_since_issue, s.failed = self.refused_since_issue, frozenset(self.failed)
        if s.issued is not None:
            self.creds_worked |= s.auth == "creds-right"
            self.header_worked |= s.auth == "key"
        elif s.refused:
            self.refused_since_issue = True
        elif s.status == 200 and s.record is None and re.search(rb"[0-9a-fA-F]{32}", s.body):
            self.lost = True

    def sequential(self, s: Seen) -> None:
        probing = s.auth == "key" and self.role(s.key) == "candidate"
        if not probing:
            self.settle()
        s.previous = s.key if probing else self.current
        self.before(s, in_batch=False)
        if probing:
            self.probed.add(str(s.key))
            self.working += s.issued is not None
            s.probe = (self.working, len(self.probed), len(self.candidates))
        if s.issued is not None:
            if s.issued != s.previous:
                self.revoked = (self.revoked | {s.previous or ""}) - {s.issued, ""}
                self.current, self.refused_since_issue = s.issued, False
            self.lost = False

    def concurrent(self, batch: list[Seen]) -> None:
        self.settle()
        for s in batch:
            self.before(s, in_batch=True)
        keys = list(dict.fromkeys(s.issued for s in batch if s.issued is not None))
        if keys:
            self.revoked = (self.revoked | {self.current or ""}) - set(keys) - {""}
            self.current, self.lost, self.candidates = None, False, keys


def read_transcript(data: Mapping[str, Any]) -> list[Seen]:
    """Every exchange of a transcript input, with what came before each."""
    given: Mapping[str, str] = data["given"]
    keys, seen = Keys(given.get("apiKey")), list[Seen]()  # batches: adjacent, one number
    numbered = enumerate(data["exchanges"])
    for batch, group in groupby(numbered, key=lambda p: p[1].get("batch", -1 - p[0])):
        read = [read_exchange(exchange, given) for _n, exchange in group]
        keys.concurrent(read) if batch >= 0 else keys.sequential(read[0])
        keys.failed.update(*map(violations, read))
        seen += read
    return seen


def owner(s: Seen) -> Rule | None:
    """The rule that owns a body in the wrong format, a refusal, or a key issued."""
    current = s.auth == "creds-right" or (s.auth == "key" and s.role == "current")
    if s.record is not None and s.answered_in is not s.expected and s.baseline:
        kinds: tuple[Kind, ...] = (Kind.FORMAT,)
    elif s.refused and current and s.asked is not None and not s.in_batch and s.baseline:
        worked = s.creds_worked if s.auth == "creds-right" else s.header_worked
        basis = BASIS["creds" if s.auth == "creds-right" else "key"]  # the way itself broke
        kinds = (Kind.FEATURE, Kind.SUCCEED) if worked and not basis & s.failed else (Kind.SUCCEED,)
    elif s.success:
        kinds = (Kind.REFUSE,)
    else:
        return None
    return next((r for k in kinds for r in RULES if r.kind is k and r.test(s)), None)


def violations(s: Seen) -> set[str]:
    """The ids one exchange breaks: its body's artefact, the rules that do not hold, an owner."""
    found = set(s.body_ids if s.judged else ())
    found |= {r.rid for r in RULES if r.kind is Kind.HOLDS and not r.test(s)}
    fault = owner(s) if s.judged else None
    return found | ({fault.rid} if fault is not None else set())


def judge_transcript(data: Mapping[str, Any]) -> set[str]:
    """The reference judgement of a transcript vector's input: the ids it violates."""
    return {rid for s in read_transcript(data) for rid in violations(s)}
