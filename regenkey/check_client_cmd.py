"""``regenkey check-client``: judge a client (an SDK, a script) against the spec.

The kit plays the server on 127.0.0.1 and runs COMMAND through the shell once
per scenario, with REGENKEY_BASE_URL, REGENKEY_FORMAT (plain, json or xml) and
either REGENKEY_USER_ID + REGENKEY_PASSWORD or REGENKEY_API_KEY. The command
prints the record it parsed as one JSON object ({"status", "statusCode",
"reason"} and "apiKey" when present, all strings), or with --raw the body as
received. Exit 0 PASS (no MUST failed; with --strict no SHOULD either),
1 FAIL, 2 usage error, INCOMPLETE (a selected MUST not judged and not named in
--allow-skip), or ERROR (the command could not start or hung).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from regenkey.selection import add_selection

if TYPE_CHECKING:  # the kit loads in run(), so that `regenkey --help` stays quick
    from conformance.judging.registry import CheckSpec


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
    add_selection(p, "requirement ids", "RK-CLI-*")
    p.add_argument("--list", action="store_true", help="list the checks and their ids, run nothing")
    p.add_argument("--report-dir", type=Path, help="default reports/<timestamp>/")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per run of the command")
    p.add_argument(
        "--auth",
        choices=["both", "credentials", "key"],
        default="both",
        help="the ways of authenticating the client supports (default both)",
    )
    p.add_argument(
        "--formats",
        default="plain,json,xml",
        metavar="LIST",
        help="the formats the client parses, a comma list of plain, json, xml (default all)",
    )
    p.add_argument("--seed", type=int, help="replay a run: same seed, same scenarios")
    p.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="scenarios run at the same time (default: CPUs, at most 4)",
    )
    p.set_defaults(handler=run)


def _list(checks: list[CheckSpec]) -> int:
    for spec in checks:
        print(f"{spec.name}\n    {', '.join(spec.requirement_ids)}\n    {spec.summary}")
    return 0


def _usage_problem(args: argparse.Namespace) -> str | None:
    from regenkey.selection import selection_problem

    problem = selection_problem(args, "client")
    if problem:
        return problem
    if args.list:
        return None
    if not args.command:
        return "--command is required"
    if args.timeout <= 0:
        return "--timeout must be positive"
    if args.jobs < 1:
        return "--jobs must be at least 1"
    return None


def run(args: argparse.Namespace) -> int:
    from conformance import Redactor
    from conformance.client.runner import (
        ClientSuiteConfig,
        parse_formats,
        run_client_suite,
        selected_checks,
    )
    from regenkey.terminal import (
        conclude,
        cover_selection,
        new_seed,
        progress_printer,
        report_dir,
        say,
    )

    problem = _usage_problem(args)
    if problem:
        say(f"regenkey check-client: {problem}", err=True)
        return 2
    requirements = args.requirements
    if args.list:
        return _list(selected_checks(requirements))
    formats = parse_formats(args.formats)
    if isinstance(formats, str):
        say(f"regenkey check-client: {formats}", err=True)
        return 2
    seed = new_seed(args.seed)
    reports = report_dir(args.report_dir)
    redactor = Redactor()
    config = ClientSuiteConfig(
        args.command,
        args.raw,
        args.strict,
        requirements,
        args.timeout,
        seed,
        args.auth,
        args.jobs,
        formats,
    )
    say(f"Judging the client {args.command!r}{' (raw)' if args.raw else ''}")
    say(f"  formats: {', '.join(f.value for f in formats)}; auth: {args.auth}")

    result = run_client_suite(config, redactor, progress_printer(redactor))
    cover_selection(result, requirements, "selected, but no scenario judged it (--auth, --formats)")
    return conclude(result, redactor, reports, "check-client", "requests received", args.allowed)
