"""What a server check gets back (an :class:`Exchange`) and whom it acts for (an :class:`Account`).

An exchange is one request and its response, with what the judge
(conformance/server/context.py) made of the body; an account is the
credentials the suite may use and every key it saw issued to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from conformance.judging.redaction import Redactor
from conformance.judging.results import HttpMessage
from conformance.protocol.records import Format, Record
from conformance.protocol.wire import RequestSpec, WireRequest
from conformance.validation.bodies import BodyVerdict


@dataclass
class Exchange:
    spec: RequestSpec
    wire: WireRequest
    status: int
    headers: httpx.Headers
    body: bytes
    fmt: Format | None = None
    verdict: BodyVerdict | None = None
    observed_key: str | None = None  # a key seen in a body judged non-conformant
    answered_in: Format | None = None  # set when the body was valid in another format
    # The body broke a rule the judge blamed on no id (``error_rule=None``): an
    # error in another format, or a 4xx that is no envelope; the check decides.
    unjudged: bool = False
    carried: Record | None = None  # what the body holds, in whichever format it is valid

    @property
    def record(self) -> Record | None:
        return self.verdict.record if self.verdict else None

    @property
    def new_key(self) -> str | None:
        record = self.record
        return record.api_key if record is not None and record.is_success else None


@dataclass
class Account:
    """The credentials the suite may use, and the key it last saw issued."""

    user_id: str
    password: str
    api_key: str | None = None
    on_new_key: Callable[[str], None] | None = None
    issued: list[str] = field(default_factory=list)

    def accept(self, key: str) -> None:
        self.api_key = key
        self.issued.append(key)
        if self.on_new_key is not None:
            self.on_new_key(key)


def is_bad_login(spec: RequestSpec, account: Account) -> bool:
    """A wrong-password attempt on ``account`` (what a lockout counts): its user
    id, in any letter case, with a password that is not its own."""
    user, password = spec.param("userId"), spec.param("password")
    if user is None or password is None or password == account.password:
        return False
    return user.casefold() == account.user_id.casefold()


def request_message(ex: Exchange, r: Redactor) -> HttpMessage:
    """The request of ``ex`` as a report shows it, every secret redacted."""
    path = ex.wire.url.split("://", 1)[-1].partition("/")[2]
    headers = tuple((n, r(v)) for n, v in ex.wire.headers)
    return HttpMessage(f"{ex.wire.method} /{r(path)}", headers, r.bytes(ex.wire.body[:2048]))


def response_message(ex: Exchange, r: Redactor) -> HttpMessage:
    """The response of ``ex`` as a report shows it, every secret redacted."""
    headers = tuple((n, r(v)) for n, v in ex.headers.items())
    return HttpMessage(f"HTTP {ex.status}", headers, r.bytes(ex.body[:2048]))
