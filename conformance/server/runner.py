"""Run the server suite: every selected check, in order, with settled verdicts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import conformance.server.checks  # noqa: F401  (registers the server checks)
from conformance.errors import Blocked, TargetError
from conformance.judging.redaction import Redactor
from conformance.judging.registry import CheckSpec, registered_checks
from conformance.judging.results import RunResult, Status
from conformance.server.context import Account, Exchange, ServerContext
from conformance.spec.catalogue import Party


@dataclass(frozen=True)
class ServerSuiteConfig:
    base_url: str
    user_id: str
    password: str
    api_key: str | None = None
    seed: int = 0
    max_examples: int = 25
    strict: bool = False
    requirements: frozenset[str] | None = None
    timeout: float = 10.0
    on_new_key: Callable[[str], None] | None = None
    # A second account whose password needs URL-encoding: RK-PARAM-002 uses it,
    # so that a server that decodes badly fails that id alone.
    tricky_user_id: str | None = None
    tricky_password: str | None = None
    # Live runs: checks that rotate nothing go first, and no more than this
    # many regenerations are provoked.
    max_rotations: int | None = None
    recorder: Callable[[Exchange], None] | None = None
    # Wrong-password attempts on the main account at most (None: unbounded).
    max_bad_logins: int | None = None
    proxy: str | None = None  # an explicit --proxy, for a non-loopback target only


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
    """Judge the server at ``config.base_url``; secrets are added to ``redactor``."""
    result = RunResult("server", config.base_url, config.seed, config.strict)
    result.started = datetime.now(UTC)
    account = Account(config.user_id, config.password, config.api_key, config.on_new_key)
    redactor.add(config.password)
    redactor.add(config.api_key)
    tricky = None
    if config.tricky_user_id and config.tricky_password:
        tricky = Account(config.tricky_user_id, config.tricky_password)
    ctx = ServerContext(
        config.base_url,
        account,
        result,
        redactor,
        config.seed,
        max_examples=config.max_examples,
        timeout=config.timeout,
        tricky=tricky,
        max_rotations=config.max_rotations,
        recorder=config.recorder,
        max_bad_logins=config.max_bad_logins,
        proxy=config.proxy,
        on_send=getattr(progress, "on_send", None),  # a live progress line (issue 18)
    )
    checks = selected_checks(config.requirements, live=config.max_rotations is not None)
    started = time.perf_counter()
    blocked: set[str] = set()
    down: str | None = None  # once the target stops answering, nothing more is sent
    try:
        for n, spec in enumerate(checks, 1):
            if down is not None:
                for rid in spec.requirement_ids:
                    result.record_error(rid, f"{spec.name}: not run, {down}")
                outcome = "error"
            else:
                began = time.perf_counter()
                outcome = _run_one(ctx, spec, blocked)
                elapsed = time.perf_counter() - began
                for rid in spec.requirement_ids:
                    result.result_for(rid).time_s += elapsed
                if outcome == "error" and ctx.target_error is not None:
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


def _run_one(ctx: ServerContext, spec: CheckSpec, blocked: set[str]) -> str:
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
        return "blocked"
    before = _failure_count(ctx.result)
    with ctx.running(spec.name):
        try:
            spec.func(ctx)
        except Blocked as exc:
            for rid in spec.requirement_ids:
                ctx.result.record_blocked(rid, f"{spec.name}: {exc}", exc.causes)
                if not ctx.result.result_for(rid).checks_run:
                    blocked.add(rid)
            return "blocked"
        except TargetError as exc:
            ctx.target_error = exc.stops_the_run_because()
            for rid in spec.requirement_ids:
                ctx.result.record_error(rid, f"{spec.name}: {exc}")
            return "error"
        except Exception as exc:  # a bug in the kit: ERROR, never the target's fault
            for rid in spec.requirement_ids:
                ctx.result.record_error(rid, f"{spec.name}: kit error {type(exc).__name__}")
            return "error"
    return "failures" if _failure_count(ctx.result) != before else "ok"


def _failure_count(result: RunResult) -> int:
    return sum(len(r.failures) for r in result.requirements.values())


def summary_counts(result: RunResult) -> dict[Status, int]:
    counts = dict.fromkeys(Status, 0)
    for r in result.requirements.values():
        counts[r.status] += 1
    return counts
