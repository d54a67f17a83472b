"""What a server check works with: a target, an account, and a judge.

Every response a check provokes passes through :meth:`ServerContext.judge`,
which validates the body for its format and applies the per-response rules
(conformance/judging/rules.py: no 5xx, no echoed password, no key in an
error, the media type, HTTP 200 and a UUID key on success) before the check
looks at it, so a broken response is always reported under the id of the rule
it breaks, whatever check happened to receive it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from conformance.errors import Blocked, TargetError
from conformance.judging.redaction import Redactor
from conformance.judging.results import Failure, RunResult
from conformance.judging.rules import RESPONSE_RULES, Response, body_rules, read_any
from conformance.judging.spellings import KEY_SHAPE, SHORT_PASSWORD_NOTE, KnownKeys, recognisable
from conformance.judging.spellings import pattern as secret_pattern
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec, WireRequest, build, curl_command
from conformance.server.echo_followup import is_coincidence
from conformance.server.exchange import (
    Account,
    Exchange,
    is_bad_login,
    request_message,
    response_message,
)
from conformance.server.sequence import CheckSequence
from conformance.transport.exchange import ExchangeError, HttpClient, is_loopback
from conformance.validation.bodies import BodyVerdict, Violation, validate_body

MAX_BODY = 1024 * 1024  # a response larger than this is the target's fault: ERROR
UNREAD = (404, 405, 413)  # answers whose body is not judged: the request never reached it

__all__ = ["MAX_BODY", "Account", "Exchange", "Live", "ServerContext", "is_bad_login"]


@dataclass(frozen=True, kw_only=True)
class Live:
    """A run against a real account: checks that rotate nothing go first, at most
    ``max_rotations`` regenerations and ``max_bad_logins`` wrong-password attempts."""

    max_rotations: int
    max_bad_logins: int


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
    # A real account (--live): its budgets, and some checks never run against it;
    # None: a sandbox, where any key may be rotated.
    live: Live | None = None
    # Wrong-password attempts on the main account at most in a sandbox (None:
    # unbounded); a live run's budget is ``live.max_bad_logins``.
    sandbox_bad_logins: int | None = None
    bad_logins: int = 0
    rotations: int = 0
    recorder: Callable[[Exchange], None] | None = None
    target_error: str | None = None  # set when the target stops answering: why
    proxy: str | None = None  # an explicit --proxy; the environment's is never used
    # Progress (regenkey/progress.py): called on every request with the check's
    # name and the requests sent so far; it must be cheap.
    on_send: Callable[[str, int], None] | None = None
    sequence: CheckSequence = field(init=False, default_factory=CheckSequence)
    keys: KnownKeys = field(init=False, default_factory=KnownKeys)  # seen issued (RK-SAFE-003)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 (reproducible cases, not secrets)
        # the kit's own bounded client: one deadline per exchange, MAX_BODY decoded
        # bytes, no proxy from the environment (only ``proxy``, when given)
        proxy = None if is_loopback(self.base_url) else self.proxy
        self.client = HttpClient(self.timeout, max_body=MAX_BODY, proxy=proxy)
        self.redactor.add(self.account.password)
        if self.tricky is not None:
            self.redactor.add(self.tricky.password)
        for known in (self.account, self.tricky):
            for key in (known.api_key, *known.issued) if known is not None else ():
                if key:
                    self.saw_key(key)

    def close(self) -> None:
        self.client.close()

    @property
    def max_rotations(self) -> int | None:
        """Regenerations the run may make at most (live runs; None: unbounded)."""
        return self.live.max_rotations if self.live is not None else None

    @property
    def max_bad_logins(self) -> int | None:
        """Wrong-password attempts on the main account at most (None: unbounded)."""
        return self.live.max_bad_logins if self.live is not None else self.sandbox_bad_logins

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
            self.saw_key(issued)
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
        return KEY_SHAPE.search(ex.body.decode("latin-1")) is not None

    def judge(
        self,
        ex: Exchange,
        fmt: Format | None,
        format_rule: str | None = "RK-FMT-001",
        account: Account | None = None,
        error_rule: str | None = "RK-ERR-005",
    ) -> None:
        """Validate the body for ``fmt`` and apply every per-response rule."""
        self._apply("RK-SAFE-001", ex, self._response(ex))
        self._judge_echo(ex, [a for a in (self.account, self.tricky, account) if a])
        if fmt is None or ex.status in UNREAD:
            self._judge_key_leak(ex)
            return
        ex.fmt = fmt
        ex.verdict = validate_body(ex.body, fmt)
        ex.carried = ex.verdict.record
        if not ex.verdict.ok and self._in_wrong_format(ex, fmt, format_rule, error_rule):
            self._judge_key_leak(ex)
            return
        self._judge_key_leak(ex)
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
        response = self._response(ex)
        if ex.verdict.ok and ex.verdict.record is not None:
            for rid in body_rules(fmt, ex.verdict.record.is_success):
                self.result.record_pass(rid)
            self._apply("RK-FMT-005", ex, response)
        if ex.new_key is not None:
            self._apply("RK-HTTP-010", ex, response)
            self._apply("RK-KEY-002", ex, response)

    def _response(self, ex: Exchange, passwords: tuple[str, ...] = ()) -> Response:
        """``ex`` as the per-response rules read it."""
        record = ex.carried
        answered = ex.fmt if ex.record is not None else ex.answered_in
        return Response(
            ex.status,
            tuple(ex.headers.multi_items()),
            ex.body,
            record,
            ex.fmt,
            answered,
            passwords,
            self.keys,
            ex.verdict.requirement_ids if ex.verdict is not None else frozenset(),
            ex.spec.method,
        )

    def _apply(self, rid: str, ex: Exchange, response: Response) -> bool:
        rule = RESPONSE_RULES[rid]
        actual = rule.judge(response)
        expected = rule.expected_for(response)
        return self.expect(rid, actual is None, ex, rule.message, expected, actual or "")

    def _judge_key_leak(self, ex: Exchange) -> None:
        """RK-SAFE-003, judged only once a key is known and only of an error (an
        unread body is read in whichever format it is valid)."""
        if not self.keys:
            return
        if ex.carried is None and ex.status not in UNREAD:
            ex.carried = read_any(ex.body)
        response = self._response(ex)
        if response.is_error:
            self._apply("RK-SAFE-003", ex, response)

    def saw_key(self, key: str) -> None:
        """A key the target issued, for any account: redacted, and never to be in an error."""
        self.redactor.add(key)
        self.keys.add(key)

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
                ex.answered_in, ex.unjudged, ex.carried = other, rid is None, verdict.record
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
        held = {a.api_key for a in accounts if a.api_key}
        for password in sorted(submitted):
            if not recognisable(password):
                result = self.result.result_for("RK-SAFE-002")
                if SHORT_PASSWORD_NOTE not in result.skip_reasons:
                    result.skip_reasons.append(SHORT_PASSWORD_NOTE)
            response = self._response(ex, (password,))
            rule = RESPONSE_RULES["RK-SAFE-002"]
            actual = rule.judge(response)
            if actual is not None and self.max_bad_logins is None:  # not live: may ask again
                if is_coincidence(self._ask, spec, password, self.seed, held):
                    actual = None  # the server's own words (conformance/server/echo_followup.py)
            self.expect(
                "RK-SAFE-002", actual is None, ex, rule.message, rule.expected, actual or ""
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
                request=request_message(ex, r) if ex else None,
                response=response_message(ex, r) if ex else None,
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
