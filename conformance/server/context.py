"""What a server check works with: a target, an account, and a judge.

Every response a check provokes passes through :meth:`ServerContext.judge`,
which applies the per-response requirements (no 5xx, no echoed password, the
body valid for its format, the media type, HTTP 200 on success) before the
check looks at it, so a broken body is always reported under the id of the
rule it breaks, whatever check happened to receive it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from conformance.errors import Blocked, TargetError
from conformance.judging.redaction import Redactor
from conformance.judging.results import Failure, HttpMessage, RunResult
from conformance.judging.spellings import SHORT_PASSWORD_NOTE, echo_in, recognisable
from conformance.judging.spellings import pattern as secret_pattern
from conformance.protocol.records import MEDIA_TYPES, Format, Record
from conformance.protocol.wire import Encoding, RequestSpec, WireRequest, build, curl_command
from conformance.server.echo_followup import is_coincidence
from conformance.server.sequence import CheckSequence
from conformance.transport.exchange import ExchangeError, HttpClient, is_loopback
from conformance.validation.bodies import BodyVerdict, Violation, validate_body

MAX_BODY = 1024 * 1024  # a response larger than this is the target's fault: ERROR
_MEDIA_ALIASES = {Format.XML: {"application/xml", "text/xml"}}


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


@dataclass
class ServerContext:
    base_url: str
    account: Account
    result: RunResult
    redactor: Redactor
    seed: int
    max_examples: int = 25
    timeout: float = 10.0
    rng: random.Random = field(init=False)
    check_name: str = ""
    client: HttpClient = field(init=False)
    tricky: Account | None = None  # an account whose password needs encoding (RK-PARAM-002)
    max_rotations: int | None = None  # live runs: stop before the key is rotated more often
    max_bad_logins: int | None = None  # live runs: wrong-password attempts on the real account
    bad_logins: int = 0
    rotations: int = 0
    recorder: Callable[[Exchange], None] | None = None
    target_error: str | None = None  # set when the target stops answering: why
    proxy: str | None = None  # an explicit --proxy; the environment's is never used
    # Progress (regenkey/progress.py): called on every request with the check's
    # name and the requests sent so far; it must be cheap.
    on_send: Callable[[str, int], None] | None = None
    sequence: CheckSequence = field(init=False, default_factory=CheckSequence)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 (reproducible cases, not secrets)
        # the kit's own bounded client: one deadline per exchange, MAX_BODY decoded
        # bytes, no proxy from the environment (only ``proxy``, when given)
        proxy = None if is_loopback(self.base_url) else self.proxy
        self.client = HttpClient(self.timeout, max_body=MAX_BODY, proxy=proxy)
        self.redactor.add(self.account.password)
        if self.tricky is not None:
            self.redactor.add(self.tricky.password)

    def close(self) -> None:
        self.client.close()

    # --- building requests ----------------------------------------------------
    def credentials(self, fmt: str | None = "json") -> tuple[tuple[str, str], ...]:
        params = (("userId", self.account.user_id), ("password", self.account.password))
        return params + ((("format", fmt),) if fmt is not None else ())

    def key_header(
        self, key: str | None = None, name: str = "apiKey"
    ) -> tuple[tuple[str, str], ...]:
        value = key if key is not None else self.account.api_key
        if value is None:
            raise Blocked("no API key is known yet (no regeneration succeeded)")
        return ((name, value),)

    # --- sending and judging --------------------------------------------------
    def send(
        self,
        spec: RequestSpec,
        fmt: Format | None = None,
        format_rule: str | None = "RK-FMT-001",
        account: Account | None = None,
        error_rule: str | None = "RK-ERR-005",
    ) -> Exchange:
        """Send, judge the response, and remember any key it issued.

        ``fmt`` is the format the answer must be in, and ``format_rule`` the
        requirement that says so (RK-FMT-001 by default; RK-FMT-002 for the
        default, RK-FMT-003 for letter case, RK-FMT-004 for unknown values).
        ``error_rule`` is the id a refusal in another format breaks: RK-ERR-005
        (or ``format_rule``, when that names a specific rule); a probe that
        isolates one requirement names its own id, since a server that did not
        read the parameters never saw ``format`` either; None judges it under
        no id (the check decides), and so does ``format_rule=None`` for a
        success. A key issued goes to ``account`` (the suite's main account by
        default).
        """
        account = account or self.account
        if is_bad_login(spec, self.account):
            if self.max_bad_logins is not None and self.bad_logins >= self.max_bad_logins:
                budget = f"--max-bad-logins {self.max_bad_logins}"
                raise Blocked(f"wrong-password budget spent ({budget})")
            self.bad_logins += 1
        if self.max_rotations is not None and self.rotations >= self.max_rotations:
            if self._could_rotate(spec):
                raise Blocked(f"rotation budget spent (--max-rotations {self.max_rotations})")
        wire = build(self.base_url, spec)
        content: bytes | Iterator[bytes] = wire.body
        if spec.chunked:
            content = iter([wire.body[: len(wire.body) // 2], wire.body[len(wire.body) // 2 :]])
        self.result.cases += 1
        if self.on_send is not None:
            self.on_send(self.check_name, self.result.cases)
        status, headers, body = self.fetch(wire, content)
        exchange = Exchange(spec, wire, status, headers, body)
        self.sequence.sent(spec)  # before the judge: a failure it records replays this too
        self.judge(exchange, fmt, format_rule, account, error_rule)
        if self.recorder is not None:
            self.recorder(exchange)
        issued = exchange.new_key or exchange.observed_key
        self.sequence.answered(spec, issued)
        if issued is not None:
            self.rotations += 1
            self.redactor.add(issued)
            account.accept(issued)
        elif self._may_have_rotated(exchange):
            account.api_key = None  # lost track: key checks are blocked until a new key is read
        return exchange

    def fetch(
        self, wire: WireRequest, content: bytes | Iterator[bytes] | None = None
    ) -> tuple[int, httpx.Headers, bytes]:
        """One exchange, bounded as a whole (conformance/transport/exchange.py): ``timeout``
        from connect to the last byte whatever the target does (a dripped head,
        endless 1xx), and MAX_BODY bytes after any content coding is removed."""
        try:
            answer = self.client.request(
                wire.method, wire.url, wire.headers, wire.body if content is None else content
            )
        except ExchangeError as exc:
            raise TargetError(str(exc)) from None
        return answer.status, httpx.Headers(list(answer.headers)), answer.body

    def _could_rotate(self, spec: RequestSpec) -> bool:
        """Whether a correct server would regenerate a key for this request."""
        accounts = [a for a in (self.account, self.tricky) if a is not None]
        if any(spec.param("password") == a.password for a in accounts):
            return True
        key = spec.header("apiKey")
        return bool(key) and any(key == a.api_key for a in accounts)

    @staticmethod
    def _may_have_rotated(ex: Exchange) -> bool:
        """An unreadable 200 that carries something key-shaped may have rotated the key."""
        if ex.status != 200 or ex.verdict is None or ex.verdict.ok:
            return False
        return re.search(rb"[0-9a-fA-F]{32}", ex.body) is not None

    def judge(
        self,
        ex: Exchange,
        fmt: Format | None,
        format_rule: str | None = "RK-FMT-001",
        account: Account | None = None,
        error_rule: str | None = "RK-ERR-005",
    ) -> None:
        self.expect(
            "RK-SAFE-001",
            ex.status < 500,
            ex,
            "no 5xx for any client input",
            "a status below 500",
            f"HTTP {ex.status}",
        )
        self._judge_echo(ex, [a for a in (self.account, self.tricky, account) if a])
        if fmt is None or ex.status in (404, 405, 413):
            return
        ex.fmt = fmt
        ex.verdict = validate_body(ex.body, fmt)
        if not ex.verdict.ok and self._in_wrong_format(ex, fmt, format_rule, error_rule):
            return
        if not ex.verdict.ok and error_rule is None and 400 <= ex.status < 500:
            ex.unjudged = True  # a refusal of what the request tried, not an envelope
            return
        for violation in ex.verdict.violations:
            self.fail(
                violation.requirement,
                ex,
                f"the {fmt.value} body breaks its artefact",
                f"a {fmt.value} body valid against the spec",
                violation.message,
            )
        if ex.verdict.ok and ex.verdict.record is not None:
            for rid in _body_rules(fmt, ex.verdict.record.is_success):
                self.result.record_pass(rid)
            media = ex.headers.get("content-type", "").split(";")[0].strip().lower()
            allowed = _MEDIA_ALIASES.get(fmt, {MEDIA_TYPES[fmt]})
            self.expect(
                "RK-FMT-005",
                media in allowed,
                ex,
                "the media type names the format",
                " or ".join(sorted(allowed)),
                media or "(no Content-Type)",
            )
        if ex.new_key is not None:
            self.expect(
                "RK-HTTP-010",
                ex.status == 200,
                ex,
                "a success is answered with HTTP 200",
                "HTTP 200",
                f"HTTP {ex.status}",
            )
            key = ex.new_key
            uuid4 = key[12] == "4" and key[16] in "89ab"
            self.expect(
                "RK-KEY-002",
                uuid4,
                ex,
                "the key is a random (version 4) UUID",
                "version nibble 4, variant 8-b",
                f"{key[12]} and {key[16]}",
            )

    def _in_wrong_format(
        self, ex: Exchange, fmt: Format, format_rule: str | None, error_rule: str | None
    ) -> bool:
        """A body valid in another format broke the format rule, not that format's
        artefact: one violation, under ``error_rule`` for errors, else ``format_rule``."""
        for other in Format:
            verdict = validate_body(ex.body, other) if other is not fmt else None
            if verdict is not None and verdict.record is not None:
                # The specific rule the request tested wins; otherwise a success in
                # the wrong format breaks RK-FMT-001 and an error RK-ERR-005.
                rid: str | None = format_rule
                if not verdict.record.is_success:
                    specific = error_rule == "RK-ERR-005" and format_rule != "RK-FMT-001"
                    rid = format_rule if specific else error_rule
                else:
                    ex.observed_key = verdict.record.api_key
                ex.answered_in, ex.unjudged = other, rid is None
                if rid is not None:
                    self.fail(
                        rid,
                        ex,
                        f"asked for {fmt.value}, answered in {other.value}",
                        f"a {fmt.value} body",
                        f"a valid {other.value} body",
                    )
                violation = Violation(rid or "RK-FMT-001", "wrong format")
                ex.verdict = BodyVerdict(fmt, None, (violation,))
                return True
        return False

    def _judge_echo(self, ex: Exchange, accounts: list[Account]) -> None:
        """RK-SAFE-002 for what this request submitted as a password: its
        ``password`` parameters and, in a raw body (or a query written into
        the path), an account's password; not a value sent under another name."""
        spec = ex.spec
        submitted = {v for k, v in spec.params if k.lower() == "password" and v.strip()}
        carried = ex.wire.body.decode("utf-8", "replace") if spec.encoding is Encoding.RAW else ""
        carried += spec.path.partition("?")[2]
        for account in accounts if carried else ():
            if secret_pattern(account.password).search(carried):
                submitted.add(account.password)
        for password in sorted(submitted):
            if not recognisable(password):
                result = self.result.result_for("RK-SAFE-002")
                if SHORT_PASSWORD_NOTE not in result.skip_reasons:
                    result.skip_reasons.append(SHORT_PASSWORD_NOTE)
            where = echo_in(password, ex.headers.multi_items(), ex.body)
            held = {a.api_key for a in accounts if a.api_key}
            if where is not None and self.max_bad_logins is None:  # not live: may ask again
                if is_coincidence(self._ask, spec, password, self.seed, held):
                    where = None  # the server's own words (conformance/server/echo_followup.py)
            self.expect(
                "RK-SAFE-002",
                where is None,
                ex,
                "no response may contain the password",
                "no trace of the password sent",
                f"the password is {where}",
            )

    def _ask(self, spec: RequestSpec) -> tuple[list[tuple[str, str]], bytes]:
        self.result.cases += 1
        _, headers, body = self.fetch(build(self.base_url, spec))
        return headers.multi_items(), body

    # --- verdicts -------------------------------------------------------------
    def expect(
        self, rid: str, ok: bool, ex: Exchange | None, message: str, expected: str, actual: str
    ) -> bool:
        if ok:
            self.result.record_pass(rid)
        else:
            self.fail(rid, ex, message, expected, actual)
        return ok

    def fail(self, rid: str, ex: Exchange | None, message: str, expected: str, actual: str) -> None:
        r = self.redactor
        self.result.record_failure(
            Failure(
                requirement_id=rid,
                check=self.check_name,
                message=r(message),
                expected=r(expected),
                actual=r(actual),
                request=_request_message(ex, r) if ex else None,
                response=_response_message(ex, r) if ex else None,
                reproduction=r(curl_command(self.base_url, ex.spec)) if ex else "",
                seed=self.seed,
                sequence=self.sequence.steps(rid, ex.spec if ex else None, expected, r),
            )
        )

    @contextmanager
    def running(self, name: str) -> Iterator[None]:
        previous, self.check_name = self.check_name, name
        self.sequence.start(self.account.api_key)
        try:
            yield
        finally:
            self.check_name = previous


def is_bad_login(spec: RequestSpec, account: Account) -> bool:
    """A wrong-password attempt on ``account`` (what a lockout counts): its user
    id, in any letter case, with a password that is not its own."""
    user, password = spec.param("userId"), spec.param("password")
    if user is None or password is None or password == account.password:
        return False
    return user.casefold() == account.user_id.casefold()


FORMAT_RULES = {  # the body rules of each format's own artefact
    Format.JSON: ("RK-JSON-001", "RK-JSON-002", "RK-JSON-003"),
    Format.XML: ("RK-XML-001", "RK-XML-002", "RK-XML-003"),
    Format.PLAIN: ("RK-PLAIN-001",),
}
_ENVELOPE_RULES = {
    True: ("RK-SUCC-001", "RK-SUCC-002", "RK-SUCC-003", "RK-KEY-001"),
    False: ("RK-ERR-001", "RK-ERR-002", "RK-ERR-003", "RK-ERR-004"),
}


def _body_rules(fmt: Format, is_success: bool) -> tuple[str, ...]:
    """The body requirements a valid body of this format and envelope satisfies."""
    return FORMAT_RULES[fmt] + _ENVELOPE_RULES[is_success]


def _request_message(ex: Exchange, r: Redactor) -> HttpMessage:
    path = ex.wire.url.split("://", 1)[-1].partition("/")[2]
    headers = tuple((n, r(v)) for n, v in ex.wire.headers)
    return HttpMessage(f"{ex.wire.method} /{r(path)}", headers, r.bytes(ex.wire.body[:2048]))


def _response_message(ex: Exchange, r: Redactor) -> HttpMessage:
    headers = tuple((n, r(v)) for n, v in ex.headers.items())
    return HttpMessage(f"HTTP {ex.status}", headers, r.bytes(ex.body[:2048]))
