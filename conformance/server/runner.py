"""Run the server suite: every selected check, in order, with settled verdicts.

The run is configured by keywords (:class:`ServerSuiteConfig`): the
:class:`Target` (where, through which proxy, with which deadline), the
:class:`Account` to judge it with (the same type from the command line to the
wire; a run works on copies, so a config can be run again), and
:class:`Live` (the budgets of a run against a real account) or None for a
sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import conformance.server.checks  # noqa: F401  (registers the server checks)
from conformance.errors import Blocked, TargetError
from conformance.judging.redaction import Redactor
from conformance.judging.registry import CheckSpec, registered_checks
from conformance.judging.results import RunResult
from conformance.server.context import Account, Exchange, Live, ServerContext, is_bad_login
from conformance.spec.catalogue import Party

__all__ = [
    "Account",
    "Exchange",
    "Live",
    "Outcome",
    "ServerSuiteConfig",
    "Target",
    "is_bad_login",
    "run_server_suite",
    "selected_checks",
]


class Outcome(StrEnum):
    """How one check ended, as the progress line shows it."""

    OK = "ok"
    FAILURES = "failures"
    BLOCKED = "blocked"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)
class Target:
    """The server to judge: its base URL, an explicit proxy (for a non-loopback
    target only; the environment's is never used), and the deadline of one exchange."""

    base_url: str
    proxy: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True, kw_only=True)
class ServerSuiteConfig:
    target: Target
    account: Account
    # A second account whose password needs URL-encoding: RK-PARAM-002 uses it,
    # so that a server that decodes badly fails that id alone.
    tricky: Account | None = None
    live: Live | None = None  # None: a sandbox, where any key may be rotated
    seed: int = 0
    max_examples: int = 25
    strict: bool = False
    requirements: frozenset[str] | None = None
    on_new_key: Callable[[str], None] | None = None
    recorder: Callable[[Exchange], None] | None = None
    # Wrong-password attempts on the main account at most outside a live run
    # (None: unbounded); a live run's budget is ``live.max_bad_logins``.
    max_bad_logins: int | None = None

    def __post_init__(self) -> None:
        if self.live is not None and self.max_bad_logins is not None:
            raise ValueError("a live run's wrong-password budget is live.max_bad_logins")

    @property
    def bad_login_budget(self) -> int | None:
        return self.live.max_bad_logins if self.live is not None else self.max_bad_logins


def _copy(account: Account, on_new_key: Callable[[str], None] | None = None) -> Account:
    """A fresh account for one run: the keys it sees issued are the run's own."""
    return Account(account.user_id, account.password, account.api_key, on_new_key)


def selected_checks(requirements: Iterable[str] | None, live: bool = False) -> list[CheckSpec]:
    """The server checks that judge any of ``requirements`` (all when None), in
    run order; for a live run the ones that rotate no key come first."""
    checks = registered_checks(Party.SERVER)
    if requirements is not None:
        wanted = set(requirements)
        checks = [c for c in checks if wanted & set(c.requirement_ids)]
    if live:
        checks = sorted(checks, key=lambda c: c.destructive)  # stable: registry order kept
    return checks


def run_server_suite(
    config: ServerSuiteConfig,
    redactor: Redactor,
    progress: Callable[[int, int, str, str], None] | None = None,
) -> RunResult:
    """Judge the server at ``config.target``; secrets are added to ``redactor``."""
    result = RunResult("server", config.target.base_url, config.seed, config.strict)
    result.started = datetime.now(UTC)
    account = _copy(config.account, config.on_new_key)
    redactor.add(account.password)
    redactor.add(account.api_key)
    tricky = _copy(config.tricky) if config.tricky is not None else None
    ctx = ServerContext(
        config.target.base_url,
        account,
        result,
        redactor,
        config.seed,
        max_examples=config.max_examples,
        timeout=config.target.timeout,
        tricky=tricky,
        recorder=config.recorder,
        live=config.live,
        sandbox_bad_logins=config.max_bad_logins,
        proxy=config.target.proxy,
        on_send=getattr(progress, "on_send", None),  # a live progress line (issue 18)
    )
    checks = selected_checks(config.requirements, live=config.live is not None)
    started = time.perf_counter()
    blocked: set[str] = set()
    down: str | None = None  # once the target stops answering, nothing more is sent
    try:
        for n, spec in enumerate(checks, 1):
            if down is not None:
                for rid in spec.requirement_ids:
                    result.record_error(rid, f"{spec.name}: not run, {down}")
                outcome = Outcome.ERROR
            else:
                began = time.perf_counter()
                outcome = _run_one(ctx, spec, blocked)
                elapsed = time.perf_counter() - began
                for rid in spec.requirement_ids:
                    result.result_for(rid).time_s += elapsed
                if outcome is Outcome.ERROR and ctx.target_error is not None:
                    down = ctx.target_error
            if progress is not None:
                progress(n, len(checks), spec.name, outcome)
    finally:
        ctx.close()
    result.duration_s = time.perf_counter() - started
    if config.requirements is not None:
        result.requirements = {
            rid: r for rid, r in result.requirements.items() if rid in config.requirements
        }
    for spec in checks:
        for rid in spec.requirement_ids:
            if config.requirements is None or rid in config.requirements:
                result.result_for(rid)
    result.finish()
    return result


def _run_one(ctx: ServerContext, spec: CheckSpec, blocked: set[str]) -> Outcome:
    """Run one check; ``blocked`` collects ids that could not be judged, so
    that what leans on them is blocked in turn."""
    unusable = [
        rid
        for rid in spec.requires
        if rid not in spec.requirement_ids
        and (ctx.result.result_for(rid).failures or rid in blocked)
    ]
    if unusable:
        for rid in spec.requirement_ids:
            reason = f"{spec.name}: blocked, {', '.join(unusable)} failed or could not be judged"
            ctx.result.record_blocked(rid, reason, unusable)
            if not ctx.result.result_for(rid).checks_run:
                blocked.add(rid)
        return Outcome.BLOCKED
    before = _failure_count(ctx.result)
    with ctx.running(spec.name):
        try:
            spec.func(ctx)
        except Blocked as exc:
            for rid in spec.requirement_ids:
                ctx.result.record_blocked(rid, f"{spec.name}: {exc}", exc.causes)
                if not ctx.result.result_for(rid).checks_run:
                    blocked.add(rid)
            return Outcome.BLOCKED
        except TargetError as exc:
            ctx.target_error = exc.stops_the_run_because()
            for rid in spec.requirement_ids:
                ctx.result.record_error(rid, f"{spec.name}: {exc}")
            return Outcome.ERROR
        except Exception as exc:  # a bug in the kit: ERROR, never the target's fault
            for rid in spec.requirement_ids:
                ctx.result.record_error(rid, f"{spec.name}: kit error {type(exc).__name__}")
            return Outcome.ERROR
    return Outcome.FAILURES if _failure_count(ctx.result) != before else Outcome.OK


def _failure_count(result: RunResult) -> int:
    return sum(len(r.failures) for r in result.requirements.values())


def lifecycle_plan(config: ServerSuiteConfig, checks: Iterable[CheckSpec]) -> str | None:
    """What the lifecycle machine will play under ``config`` (and, live, what its
    budgets leave out), for ``--plan``; None when the machine is not selected."""
    from conformance.server.machine_plan import plan

    if not any(spec.name == "lifecycle_follows_the_model" for spec in checks):
        return None
    left = None if config.live is None else config.live.max_rotations
    machine = plan(config.max_examples, config.tricky is not None, left, config.bad_login_budget)
    return f"The {machine.describe()}."
