"""The reference judge of transcript vectors: HTTP exchanges judged as a whole.

A transcript (shape in ``VECTORS.md``) holds what no single body or request
can: who may authenticate, what a request rotates, which format answers. The
judge replays it against a model of the account's keys and applies one rule
per requirement, as the server checks and (RK-CLI-002) the client suite do.
One fault, one id: a body in the wrong format, a refusal of a request that
must regenerate, or a key for one that must not, is owned by one rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from itertools import groupby
from typing import Any

from conformance.judging.rules import RESPONSE_RULES
from conformance.spec.catalogue import is_known
from conformance.vectors.exchanges import Keys, Seen, read_exchange

BASIS = {"creds": {"RK-AUTH-001", "RK-ROT-004"}, "key": {"RK-ROT-003", "RK-ROT-006"}}
BLOCKERS = {"RK-ROT-002", "RK-ROT-003", "RK-ROT-006"}  # RK-ROT-005 leans on them


class Kind(StrEnum):
    HOLDS = "holds"  # true of every exchange
    FORMAT = "format"  # owns a body valid only in another format than asked
    FEATURE = "feature"  # owns a refusal of a way of authenticating that worked before
    SUCCEED = "succeed"  # owns a refusal of a request that must regenerate the key
    REFUSE = "refuse"  # owns a key issued for a request that must be refused


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


def _per_response(rid: str, endpoint_only: bool = False) -> None:
    """A per-response rule of conformance/judging/rules.py, as a rule that holds of
    every exchange (or of every exchange on the endpoint, ``endpoint_only``)."""
    judge = RESPONSE_RULES[rid].judge

    @wraps(judge)
    def holds(s: Seen) -> bool:
        return (endpoint_only and not s.judged) or judge(s.response) is None

    rule(rid, Kind.HOLDS)(holds)


# Written once in conformance/judging/rules.py, applied here as in check-server.
_per_response("RK-SAFE-001")
_per_response("RK-SAFE-002")
_per_response("RK-SAFE-003")
_per_response("RK-HTTP-010", endpoint_only=True)
_per_response("RK-KEY-002", endpoint_only=True)
_per_response("RK-FMT-005", endpoint_only=True)


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


def read_transcript(data: Mapping[str, Any]) -> list[Seen]:
    """Every exchange of a transcript input, with what came before each."""
    given: Mapping[str, str] = data["given"]
    keys, seen = Keys(given.get("apiKey")), list[Seen]()  # batches: adjacent, one number
    keys.known |= {given["apiKey"]} if given.get("apiKey") else set()
    numbered = enumerate(data["exchanges"])
    for batch, group in groupby(numbered, key=lambda p: p[1].get("batch", -1 - p[0])):
        read = [read_exchange(exchange, given) for _n, exchange in group]
        keys.concurrent(read) if batch >= 0 else keys.sequential(read[0])
        keys.failed.update(*map(violations, read))
        keys.known |= {s.issued for s in read if s.issued is not None}
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
