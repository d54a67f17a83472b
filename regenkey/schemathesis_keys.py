"""The keys one Schemathesis run has seen, and the rotation rules they prove.

Every response to the endpoint passes through :meth:`KeyLedger.observe` once
(the extension's ``after_call`` hook). A success supersedes every key seen
before it: from then on those keys are revoked. A verdict is given only where
the order of events proves it, whatever produced the request (a credential
hook, an OpenAPI link, a shrinking replay):

- a key revoked before the request was sent that authenticates: RK-ROT-002;
- the newest issued key refused on a clean apiKey request that is the first
  request after the key was learned (so no refusal in between can have rotated
  it, RK-ROT-006), with nothing else in flight, of a request kind (method and
  body type) that has succeeded before in the run (so the kind itself is not
  what the server refuses, RK-HTTP-002..005): RK-ROT-003;
- a success that hands out the key it replaced: RK-ROT-001; one revoked
  earlier: RK-ROT-007 (from then on that key is current again, not revoked).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from conformance import BodyVerdict, Format, Record, validate_body
from conformance.judging.spellings import KEY_SHAPE as _KEY

_ERROR = re.compile(rb"""status["'>=:\s]*error""", re.IGNORECASE)


@lru_cache(maxsize=32)
def verdicts(body: bytes) -> Mapping[Format, BodyVerdict]:
    """The body judged in each format, once per body: the hooks, the checks and
    the XML deserializer all read the same answer (the kit's fast path first)."""
    return {fmt: validate_body(body, fmt) for fmt in Format}


def read(body: bytes) -> tuple[Format, Record] | None:
    """The body's format and record if it is valid in any format."""
    judged = verdicts(bytes(body))
    for fmt in (Format.JSON, Format.XML, Format.PLAIN):
        record = judged[fmt].record
        if record is not None:
            return fmt, record
    return None


def read_record(body: bytes) -> Record | None:
    """The body's record if it is valid in any format (the format rule is judged elsewhere)."""
    found = read(body)
    return found[1] if found else None


@dataclass(frozen=True)
class Outcome:
    """What a response did to the account's key, as far as its body shows."""

    success: bool
    key: str | None
    certain: bool

    @classmethod
    def of(cls, status: int, body: bytes) -> Outcome:
        record = read_record(body)
        if record is not None:
            return cls(record.is_success and status < 300, record.api_key, True)
        if status >= 300 or _ERROR.search(body):
            return cls(False, None, False)
        found = _KEY.search(body.decode("utf-8", errors="replace"))
        return cls(found is not None, found.group(0) if found else None, False)


@dataclass
class KeyLedger:
    """The current key and when each earlier key stopped working."""

    current: str | None = None
    learned: float | None = None  # when the current key came from a response
    revoked: dict[str, float] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)
    sent: dict[str, tuple[float, int]] = field(default_factory=dict)
    in_flight: int = 0
    since_learned: int = 0  # responses observed since the current key was learned
    proven_kinds: set[str] = field(default_factory=set)  # request kinds that succeeded
    # Format carriers (:func:`~regenkey.schemathesis_cases.format_carrier`) where a
    # success came in the format a mixed-case value (``JSon``) named: there the
    # server ignores the letter case (RK-FMT-003), so refusals of such values are judged.
    case_proven: set[str] = field(default_factory=set)
    # Format carriers where a lower-case value (``json``) got its format: there
    # the server reads the format.
    lower_proven: set[str] = field(default_factory=set)
    last_revoked: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, initial: str | None) -> None:
        with self.lock:
            if self.current is None and not self.issued:
                self.current = initial

    def previous(self) -> str | None:
        """The most recently revoked key, to probe that it is refused."""
        with self.lock:
            return self.last_revoked

    def keys(self) -> set[str]:
        """Every key the run has seen (to mask them in messages)."""
        with self.lock:
            return {k for k in (self.current, *self.issued, *self.revoked) if k}

    def known(self, key: str) -> bool:
        with self.lock:
            return key in self.issued or key in self.revoked

    def before_send(self, case_id: str) -> None:
        with self.lock:
            self.in_flight += 1
            self.sent[case_id] = (time.monotonic(), self.in_flight)

    def lost(self, case_id: str) -> None:
        """A request that got no response (a network error)."""
        with self.lock:
            if self.sent.pop(case_id, None) is not None:
                self.in_flight -= 1

    def observe(
        self, case_id: str, key_sent: str | None, kind: str, clean: bool, outcome: Outcome
    ) -> list[tuple[str, str]]:
        """Record one response of a request of ``kind`` (method and body type);
        ``clean``: a positive request authenticated by the apiKey header alone."""
        """Record one response; return the (id, message) pairs it breaks."""
        with self.lock:
            now = time.monotonic()
            sent = self.sent.pop(case_id, None)
            if sent is not None:
                self.in_flight -= 1
            sent_at, concurrent = sent if sent is not None else (None, 2)
            broken: list[tuple[str, str]] = []
            if key_sent is not None and sent_at is not None and outcome.success:
                at = self.revoked.get(key_sent)
                if at is not None and at < sent_at:
                    broken.append(("RK-ROT-002", "a key revoked by a later rotation was accepted"))
            refused = outcome.certain and not outcome.success
            if (
                refused
                and clean
                and kind in self.proven_kinds
                and self.since_learned == 0
                and key_sent is not None
                and key_sent == self.current
                and self.learned is not None
                and sent_at is not None
                and self.learned < sent_at
                and concurrent == 1
            ):
                broken.append(("RK-ROT-003", "the key the last regeneration issued was refused"))
            self.since_learned += 1
            if outcome.success:
                if outcome.key is not None and outcome.key in self.issued | {self.current}:
                    broken.append(("RK-ROT-001", "the regeneration handed out the key it replaced"))
                elif outcome.key is not None and outcome.key in self.revoked:
                    broken.append(
                        ("RK-ROT-007", "the regeneration handed out a key revoked before")
                    )
                self.revoked.pop(outcome.key or "", None)  # issued again: current, not revoked
                for old in (self.current, *self.issued):
                    if old is not None and old != outcome.key:
                        self.revoked.setdefault(old, now)
                        self.last_revoked = old
                self.issued = {outcome.key} if outcome.key else set()
                self.current = outcome.key
                self.learned = now if outcome.certain and outcome.key else None
                self.since_learned = 0
                self.proven_kinds.add(kind)
            return broken


LEDGER = KeyLedger()
