"""The SDK-safety checks (RK-CLI-005..010), over the safety scenarios of
:mod:`conformance.client.safety` and, for RK-CLI-008, every case's output.

Each fault is judged under one id: a second request after a stalled, dropped
or unreadable answer is a retry (RK-CLI-005), after a success a verification
(RK-CLI-010); a request the redirect's target received is judged only for
the secrets it carries (RK-CLI-007); the client's printing is judged only
in the cases that serve something unreadable (RK-CLI-009).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from conformance.client.app import RecordedRequest
from conformance.client.checks import ClientContext
from conformance.client.safety import UNREADABLE, Kind, SafetyCase
from conformance.judging.registry import check
from conformance.judging.results import HttpMessage
from conformance.judging.spellings import spelled_in
from conformance.spec.catalogue import Party

C = Party.CLIENT
WIRE = ("status", "statusCode", "reason", "apiKey")


@dataclass
class SafetyContext(ClientContext):
    """The client context with the safety scenarios' cases beside the plan's."""

    safety: list[SafetyCase] = field(default_factory=list)


def _cases(ctx: ClientContext, rid: str) -> Iterator[SafetyCase]:
    """The safety cases that judge ``rid``; one the kit could not run is an ERROR."""
    for case in getattr(ctx, "safety", ()):
        if rid not in case.scenario.judges:
            continue
        if case.error is not None:
            ctx.result.record_error(rid, ctx.redactor(f"{case.label}: {case.error}"))
            continue
        yield case


def _judge(
    ctx: ClientContext,
    rid: str,
    ok: bool,
    case: SafetyCase,
    message: str,
    expected: str,
    actual: str,
    request: RecordedRequest | None = None,
) -> None:
    if ok:
        ctx.result.record_pass(rid)
        return
    body = case.scenario.served_body
    served = f"served: {case.scenario.kind.value}"
    answer = HttpMessage(served, (), ctx.redactor(body)) if body else None
    ctx.write_failure(rid, case.label, request, answer, (message, expected, actual))


def _second(case: SafetyCase) -> RecordedRequest | None:
    return case.requests[1] if len(case.requests) > 1 else None


@check("RK-CLI-005", party=C)
def client_never_retries_a_regeneration(ctx: ClientContext) -> None:
    """RK-CLI-005: an answer stalled, dropped or unreadable is not asked for again."""
    for case in _cases(ctx, "RK-CLI-005"):
        if not case.requests:
            continue  # nothing sent: RK-HTTP-011 judges that in the plan's cases
        _judge(
            ctx,
            "RK-CLI-005",
            len(case.requests) == 1,
            case,
            "the regeneration was sent again: the retry revoked the key the first one issued",
            "one request, then an error reported",
            f"{len(case.requests)} requests",
            _second(case),
        )


@check("RK-CLI-006", party=C)
def client_gives_up_on_a_stalled_answer(ctx: ClientContext) -> None:
    """RK-CLI-006: a client gives up on an answer that never comes, within a bound."""
    for case in _cases(ctx, "RK-CLI-006"):
        if not case.requests:
            continue
        _judge(
            ctx,
            "RK-CLI-006",
            not case.timed_out,
            case,
            "the client waited on a stalled answer without a timeout",
            f"the command gives up within {case.bound:g} s",
            f"still waiting after {case.bound:g} s (ended by the kit)",
        )


def _holds(secrets: tuple[str, ...], text: str) -> bool:
    """Whether ``text`` holds one of ``secrets`` whole, in any spelling (raw,
    URL- or form-encoded, escaped: :func:`conformance.judging.spellings.pattern`);
    a run of a password's characters alone is not judged a leak."""
    return any(spelled_in(s, text) for s in secrets)


def _leaks(request: RecordedRequest, password: str | None, key: str | None) -> list[str]:
    """Where a request carries the password (any spelling) or the key."""
    texts = {
        "target": request.target,
        "body": request.body.decode("utf-8", "replace"),
        "headers": "\n".join(f"{n}: {v}" for n, v in request.headers),
    }
    found = []
    for where, text in texts.items():
        if password and _holds((password,), text):
            found.append(f"the password in the {where}")
        if key and _holds((key,), text):
            found.append(f"the key in the {where}")
    return found


@check("RK-CLI-007", party=C)
def client_keeps_credentials_to_their_origin(ctx: ClientContext) -> None:
    """RK-CLI-007: a redirect to another origin never takes the password or key along."""
    for case in _cases(ctx, "RK-CLI-007"):
        s = case.scenario
        password = s.password if s.auth.value == "credentials" else None
        key = None if password else s.api_key
        leaked = [(req, _leaks(req, password, key)) for req in case.elsewhere]
        bad = [(req, where) for req, where in leaked if where]
        _judge(
            ctx,
            "RK-CLI-007",
            not bad,
            case,
            "the client followed a redirect to another origin with its credentials",
            "no secret sent to another origin (not following is fine too)",
            "; ".join(bad[0][1]) if bad else "",
            bad[0][0] if bad else None,
        )


def _record(stdout: str) -> dict[str, Any] | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _secrets_of(case: Any) -> tuple[str, ...]:
    """What a case gave the client, and the key it served (a plan's case or a safety one)."""
    if isinstance(case, SafetyCase):
        return case.scenario.given()
    expect, scenario = case.expect, case.scenario
    served = getattr(getattr(scenario, "record", None), "api_key", None)
    return tuple(s for s in (expect.password, expect.api_key, served) if s)


def _output_leaks(stdout: str, stderr: str, secrets: tuple[str, ...], raw: bool) -> list[str]:
    found = ["stderr"] if _holds(secrets, stderr) else []
    record = None if raw else _record(stdout)
    for name, value in (record or {}).items():
        if name == "apiKey":
            continue  # the key a success hands on is what the record is for
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if _holds(secrets, text) or _holds(secrets, str(name)):
            found.append(f"the record's member {name!r}")
    return found


@check("RK-CLI-008", party=C)
def client_keeps_secrets_off_its_output(ctx: ClientContext) -> None:
    """RK-CLI-008: no password or key on stderr, nor in the record beyond its apiKey."""
    every: list[Any] = [c for c in ctx.cases if c.error is None and c.output is not None]
    every += [c for c in _cases(ctx, "RK-CLI-008") if c.output is not None]
    for case in every:
        out = case.output
        where = _output_leaks(out.stdout, out.stderr, _secrets_of(case), ctx.raw)
        if where or isinstance(case, SafetyCase):
            _judge_output(ctx, case, where)
        else:
            ctx.result.record_pass("RK-CLI-008")


def _judge_output(ctx: ClientContext, case: Any, where: list[str]) -> None:
    message = "the client printed a secret"
    expected = "secrets only where they belong: the new key in the record's apiKey"
    actual = f"a secret in {', '.join(where)}"
    if isinstance(case, SafetyCase):
        _judge(ctx, "RK-CLI-008", not where, case, message, expected, actual)
    else:
        ctx.fail("RK-CLI-008", case, None, message, expected, actual)


def _lies_in_the_plan(ctx: ClientContext) -> bool:
    """Whether the client reported a served error as a success (RK-CLI-002)."""
    cases = (c for c in ctx.cases if c.error is None and c.output is not None and c.scenario)
    return any(ctx.assessed(c)[0] == "lie" for c in cases)


def _unreadable_verdict(case: SafetyCase, raw: bool) -> tuple[bool, bool, str]:
    """(reported an error, reported a success, what it printed) for an unreadable answer."""
    assert case.output is not None
    out = case.output
    printed = f"exit {out.exit_code}, printing {out.stdout.strip()[:200] or '(nothing)'}"
    if raw:  # the body relayed as it came, or a failing exit, is an error report
        return (
            out.exit_code != 0 or out.stdout.strip() == case.scenario.served_body.strip(),
            False,
            printed,
        )
    record = _record(out.stdout)
    success = record is not None and (
        record.get("status") == "success" or bool(record.get("apiKey"))
    )
    error_record = record is not None and record.get("status") == "error"
    return not success and (out.exit_code != 0 or error_record), success, printed


@check("RK-CLI-009", party=C)
def client_reports_unreadable_answers_as_errors(ctx: ClientContext) -> None:
    """RK-CLI-009: an HTML page, an empty or a cut-short body is reported as an error.

    A client that reports served errors as successes too (RK-CLI-002) shows one
    fault twice: its successes here are that fault, and RK-CLI-009 is left
    unjudged, blocked by RK-CLI-002, rather than failed as well."""
    verdicts = [
        (case, *_unreadable_verdict(case, ctx.raw))
        for case in _cases(ctx, "RK-CLI-009")
        if case.output is not None and case.scenario.kind in UNREADABLE
    ]
    blocked = any(success for _c, _ok, success, _p in verdicts) and _lies_in_the_plan(ctx)
    for case, ok, success, printed in verdicts:
        if blocked and (ok or success):
            if success:
                ctx.result.record_blocked(
                    "RK-CLI-009",
                    f"{case.label}: a success reported, as for served errors (RK-CLI-002)",
                    ["RK-CLI-002"],
                )
            continue
        _judge(
            ctx,
            "RK-CLI-009",
            ok,
            case,
            f"the client did not report the {case.scenario.kind.value} as an error",
            "an error: a non-zero exit or an error record, never a success",
            printed,
            case.requests[0] if case.requests else None,
        )


@check("RK-CLI-010", party=C)
def client_sends_one_request_per_regeneration(ctx: ClientContext) -> None:
    """RK-CLI-010: one regeneration is one request; calling again revokes the new key."""
    for case in _cases(ctx, "RK-CLI-010"):
        if case.scenario.kind is not Kind.SINGLE or not case.requests:
            continue
        _judge(
            ctx,
            "RK-CLI-010",
            len(case.requests) == 1,
            case,
            "the client called the endpoint again after a success, revoking the key it got",
            "one request",
            f"{len(case.requests)} requests",
            _second(case),
        )
