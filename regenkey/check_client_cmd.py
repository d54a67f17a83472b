"""``regenkey check-client``: judge a client (an SDK, a script) against the spec.

The kit plays the server on 127.0.0.1 and runs COMMAND through the shell once
per scenario, with REGENKEY_BASE_URL, REGENKEY_FORMAT (plain, json or xml) and
either REGENKEY_USER_ID + REGENKEY_PASSWORD or REGENKEY_API_KEY, and
REGENKEY_CLIENT_TIMEOUT (the --timeout, which it may take as its own). The command
prints the record it parsed as one JSON object ({"status", "statusCode",
"reason"} and "apiKey" when present, all strings), or with --raw the body as
received. Exit 0 PASS (no MUST failed; with --strict no SHOULD either),
1 FAIL, 2 usage error, INCOMPLETE (a selected MUST not judged and not named in
--allow-skip), or ERROR (the command could not start or hung).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from regenkey.selection import add_selection, add_suite_command

if TYPE_CHECKING:
    from regenkey.selection import Subparsers


def add_parser(subparsers: Subparsers) -> None:
    summary = "judge a client: the kit plays the server and runs the client's command"
    p = add_suite_command(subparsers, "check-client", summary, __doc__)
    p.add_argument("--command", help="the client, run through the shell once per scenario")
    p.add_argument("--raw", action="store_true", help="the command prints the body as received")
    add_selection(p, "requirement ids", "RK-CLI-*", listing="run nothing")
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


def _usage_problem(args: argparse.Namespace) -> str | None:
    from regenkey.selection import command_problem, selection_problem

    problem = selection_problem(args, "client")
    if problem:
        return problem
    if args.list:
        return None
    problem = command_problem(args)
    if problem:
        return problem
    if args.jobs < 1:
        return "--jobs must be at least 1"
    return None


def run(args: argparse.Namespace) -> int:
    from conformance import Redactor
    from conformance.client.runner import (
        ClientSuiteConfig,
        parse_auth,
        parse_formats,
        run_client_suite,
        selected_checks,
    )
    from regenkey.selection import conclude_selection
    from regenkey.terminal import list_checks, new_seed, progress_printer, refuse, say

    problem = _usage_problem(args)
    if problem:
        return refuse("check-client", problem)
    if args.list:
        return list_checks(selected_checks(args.requirements))
    formats = parse_formats(args.formats)
    if isinstance(formats, str):
        return refuse("check-client", formats)
    redactor = Redactor()
    config = ClientSuiteConfig(
        command=args.command,
        raw=args.raw,
        strict=args.strict,
        requirements=args.requirements,
        timeout=args.timeout,
        seed=new_seed(args.seed),
        auth=parse_auth(args.auth),
        jobs=args.jobs,
        formats=formats,
    )
    say(f"Judging the client {args.command!r}{' (raw)' if args.raw else ''}")
    say(f"  formats: {', '.join(f.value for f in formats)}; auth: {args.auth}")
    result = run_client_suite(config, redactor, progress_printer(redactor))
    return conclude_selection(
        result,
        redactor,
        args,
        command="check-client",
        what="requests received",
        unjudged="selected, but no scenario judged it (--auth, --formats)",
    )
