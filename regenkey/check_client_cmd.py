"""``regenkey check-client``: judge a client (an SDK, a script) against the spec.

The kit plays the server on 127.0.0.1 and runs COMMAND through the shell once
per scenario, with REGENKEY_BASE_URL, REGENKEY_FORMAT (plain, json or xml) and
either REGENKEY_USER_ID + REGENKEY_PASSWORD or REGENKEY_API_KEY. The command
prints the record it parsed as one JSON object ({"status", "statusCode",
"reason"} and "apiKey" when present, all strings), or with --raw the body as
received. Exit 0 conformant (no MUST failed; with --strict no SHOULD either),
1 not conformant, 2 usage error, or the command could not start or hung (ERROR).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the kit loads in run(), so that `regenkey --help` stays quick
    from conformance.registry import CheckSpec


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "check-client",
        help="judge a client: the kit plays the server and runs the client's command",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--command", help="the client, run through the shell once per scenario")
    p.add_argument("--raw", action="store_true", help="the command prints the body as received")
    p.add_argument("--strict", action="store_true", help="a broken SHOULD fails the run too")
    p.add_argument("--req", action="append", metavar="ID", help="only these requirement ids")
    p.add_argument("--list", action="store_true", help="list the checks and their ids, run nothing")
    p.add_argument("--report-dir", type=Path, help="default reports/<timestamp>/")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per run of the command")
    p.add_argument(
        "--auth", choices=["both", "credentials", "key"], default="both",
        help="the ways of authenticating the client supports (default both)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, help="replay a run: same seed, same scenarios")
    p.add_argument(
        "--jobs", type=int, default=min(4, os.cpu_count() or 1),
        help="scenarios run at the same time (default: CPUs, at most 4)",
    )  # fmt: skip
    p.set_defaults(handler=run)


def _list(checks: list[CheckSpec]) -> int:
    for spec in checks:
        print(f"{spec.name}\n    {', '.join(spec.requirement_ids)}\n    {spec.summary}")
    return 0


def _usage_problem(args: argparse.Namespace) -> str | None:
    from regenkey.terminal import unknown_ids

    if unknown_ids(args.req):
        return unknown_ids(args.req)
    if not args.command:
        return "--command is required"
    if args.timeout <= 0:
        return "--timeout must be positive"
    if args.jobs < 1:
        return "--jobs must be at least 1"
    return None


def run(args: argparse.Namespace) -> int:
    from conformance import Redactor
    from conformance.client_suite.runner import ClientSuiteConfig, run_client_suite, selected_checks
    from conformance.reports import write_reports
    from regenkey.terminal import new_seed, print_summary, progress_printer, report_dir

    requirements = frozenset(args.req) if args.req else None
    if args.list:
        return _list(selected_checks(requirements))
    problem = _usage_problem(args)
    if problem:
        print(f"regenkey check-client: {problem}", file=sys.stderr)
        return 2
    seed = new_seed(args.seed)
    reports = report_dir(args.report_dir)
    redactor = Redactor()
    config = ClientSuiteConfig(
        args.command, args.raw, args.strict, requirements, args.timeout, seed, args.auth,
        args.jobs,
    )  # fmt: skip
    print(f"Judging the client {args.command!r}{' (raw)' if args.raw else ''}")

    result = run_client_suite(config, redactor, progress_printer(redactor))
    print_summary(result, redactor, "requests received")
    paths = write_reports(result, reports, redactor)
    print(f"Reports: {paths['json'].parent}")
    return result.exit_code()
