"""The plan of a ``check-server`` run (``--plan``, and before a ``--live`` run
sends anything): every kind of request that can harm the account, counted by
rehearsing the same run (seed, checks, budgets) against an embedded reference
server with throwaway accounts, and the budgets that bound it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from regenkey.terminal import say

if TYPE_CHECKING:
    from conformance.server.runner import ServerSuiteConfig


def rehearse(config: ServerSuiteConfig) -> dict[str, int | str]:
    """Run ``config``'s checks against an embedded reference server (a correct
    target, throwaway accounts, same seed and budgets) and count the requests
    that can harm an account: what the plan promises, sending nothing to the target."""
    from collections import Counter

    from conformance import Redactor
    from conformance.server.runner import Exchange, Target, is_bad_login, run_server_suite
    from conformance.transport.loopback import serving
    from reference_impl.server import MemoryStore, build_app
    from regenkey.embedded import throwaway_accounts

    account, tricky = throwaway_accounts()
    store = MemoryStore()
    for each in (account, tricky):
        store.add_account(each.user_id, each.password)
    counts: Counter[str] = Counter()
    methods: set[str] = set()

    def tally(ex: Exchange) -> None:
        counts["requests"] += 1
        counts["bad_logins"] += is_bad_login(ex.spec, account)
        counts["rotations"] += ex.new_key is not None
        credentials = ex.spec.param("password") == account.password or bool(
            ex.spec.header("apiKey")
        )
        if ex.wire.method not in ("GET", "POST") and credentials:
            counts["other_methods"] += 1
            methods.add(ex.wire.method)

    with serving(build_app(store)) as url:
        rehearsal = replace(
            config,
            target=Target(base_url=url, timeout=config.target.timeout),
            account=account,
            tricky=tricky if config.tricky is not None else None,
            on_new_key=None,
            recorder=tally,
        )
        run_server_suite(rehearsal, Redactor())
    return {**counts, "methods": ", ".join(sorted(methods)) or "none"}


def print_plan(config: ServerSuiteConfig, key_file: Path | None) -> None:
    """Before anything is sent: every kind of request that can harm the account,
    with counts (rehearsed against a correct server), and the budgets."""
    from conformance.server.runner import lifecycle_plan, selected_checks

    live = config.live is not None
    checks = selected_checks(config.requirements, live=live)
    counts = rehearse(config)
    rotations = "unbounded" if config.live is None else f"at most {config.live.max_rotations}"
    budget = config.bad_login_budget
    bad = "unbounded" if budget is None else f"at most {budget}"
    head = "LIVE RUN" if live else "Plan"
    target, user = config.target.base_url, config.account.user_id
    say(
        f"{head} against {target} as {user!r}: {counts.get('requests', 0)} "
        "requests against a correct server, of which can harm the account:"
    )
    say(f"  key rotations:                        {counts.get('rotations', 0):>4}  ({rotations})")
    say(
        f"  wrong-password attempts (lockout):    {counts.get('bad_logins', 0):>4}  ({bad}; "
        "--max-bad-logins)"
    )
    say(
        f"  other methods with real credentials:  {counts.get('other_methods', 0):>4}  "
        f"({counts['methods']})"
    )
    if key_file is not None:
        say(f"Every new key is written to {key_file} (mode 0600) before the next request.")
    if live:
        say(
            "Checks that rotate nothing go first; a check over a budget is skipped (SKIP), "
            "which makes the run INCOMPLETE unless named in --allow-skip."
        )
    for spec in checks:
        kind = "rotates" if spec.destructive else "safe   "
        say(f"  {kind}  {spec.name}  ({', '.join(spec.requirement_ids)})")
    machine = lifecycle_plan(config, checks)
    if machine is not None:
        say(f"  {machine}")
    print(flush=True)
