"""One exchange of a transcript as the judge reads it, and the account's keys so far.

:func:`read_exchange` reads a recorded request as a server reads it and
judges its body in whichever format it is valid; :class:`Keys` follows what
the transcript did to the account's keys, exchange by exchange, so that each
:class:`Seen` knows what came before it (conformance/vectors/transcripts.py
judges them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.client.app import BodyKind, RecordedRequest
from conformance.judging.rules import Response
from conformance.judging.spellings import KEY_SHAPE, KnownKeys
from conformance.protocol.records import ENDPOINT_PATH, Format, Record
from conformance.validation.bodies import validate_body
from conformance.vectors.suite import decode_body

NAMES, LOWER = ("userId", "password", "format"), ("userid", "password", "format")
UNREAD = (404, 405, 413)  # answers whose body is not judged, as in check-server


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
    keys: frozenset[str] = frozenset()  # every key given or issued before this exchange

    @property
    def expected(self) -> Format:
        return self.asked or Format.PLAIN

    @property
    def response(self) -> Response:
        """The response as the per-response rules (conformance/judging/rules.py) read it."""
        return Response(
            self.status,
            self.response_headers,
            self.body,
            self.record,
            self.expected,
            self.answered_in,
            self.passwords,
            KnownKeys(self.keys),
            self.body_ids,
        )

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
    known: set[str] = field(default_factory=set)  # every key given or issued so far

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
        s.keys = frozenset(self.known)
        s.creds_worked, s.header_worked = self.creds_worked, self.header_worked
        s.refused_since_issue, s.failed = self.refused_since_issue, frozenset(self.failed)
        if s.issued is not None:
            self.creds_worked |= s.auth == "creds-right"
            self.header_worked |= s.auth == "key"
        elif s.refused:
            self.refused_since_issue = True
        elif s.status == 200 and s.record is None and KEY_SHAPE.search(s.body.decode("latin-1")):
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
