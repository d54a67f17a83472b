"""``regenkey check-parser`` and ``regenkey parse``: the test vectors over a
line protocol, so that any SDK's response parser runs them without HTTP.

``check-parser --command CMD`` starts CMD once through the shell and sends it
every body vector, one JSON request a line on stdin; CMD answers each on
stdout with the record it read or an error (conformance/vectors/VECTORS.md).
Exit 0 PASS, 1 FAIL, 2 usage error, INCOMPLETE (a selected MUST not judged
and not named in --allow-skip), or ERROR (the command could not start, died,
hung or answered out of protocol).

``parse`` is the reference parser on that protocol (the kit's validators).
"""

from __future__ import annotations

import argparse
import binascii
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from regenkey.selection import add_selection, add_suite_command

if TYPE_CHECKING:
    from regenkey.selection import Subparsers


def add_parser(subparsers: Subparsers) -> None:
    """Both commands: ``check-parser`` and ``parse``."""
    summary = "judge an SDK's response parser against every test vector (stdin/stdout protocol)"
    p = add_suite_command(subparsers, "check-parser", summary, __doc__)
    p.add_argument("--command", help="the parser, started once through the shell")
    add_selection(p, "vectors of these ids", "RK-JSON-*")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")
    p.set_defaults(handler=run_check)
    q = subparsers.add_parser(
        "parse",
        help="the reference parser on the check-parser protocol (stdin to stdout)",
        description="Read protocol requests on stdin, answer each on stdout.",
    )
    q.set_defaults(handler=run_parse)


# --- the reference parser ---------------------------------------------------------


def answer(line: bytes) -> dict[str, Any]:
    """The answer to one protocol request line."""
    from conformance import Format, validate_body
    from conformance.vectors.suite import decode_body

    n = None
    try:
        request = json.loads(line)
        n = request.get("id") if isinstance(request, dict) else None
        body, fmt = decode_body(request), Format(request["format"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        return {"id": n, "error": f"unreadable request: {type(exc).__name__}: {exc}"}
    verdict = validate_body(body, fmt)
    if verdict.record is not None:
        return {"id": n, "record": verdict.record.as_dict()}
    reasons = "; ".join(str(v) for v in verdict.violations)
    return {"id": n, "error": reasons, "violates": sorted(verdict.requirement_ids)}


def run_parse(_args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if line.strip():
            out.write(json.dumps(answer(line), ensure_ascii=False).encode("utf-8") + b"\n")
            out.flush()
    return 0


# --- check-parser -----------------------------------------------------------------


def _usage_problem(args: argparse.Namespace) -> str | None:
    from regenkey.selection import command_problem, selection_problem

    return selection_problem(args, "parser") or command_problem(args)


def run_check(args: argparse.Namespace) -> int:
    from conformance import Redactor
    from conformance.vectors.parser_suite import ParserSuiteConfig, run_parser_suite
    from regenkey.selection import conclude_selection
    from regenkey.terminal import refuse, say

    problem = _usage_problem(args)
    if problem:
        return refuse("check-parser", problem)
    config = ParserSuiteConfig(
        command=args.command,
        strict=args.strict,
        timeout=args.timeout,
        requirements=args.requirements,
    )
    say(f"Judging the parser {args.command!r} against the test vectors")
    tally: Counter[tuple[str, str]] = Counter()
    result = run_parser_suite(config, lambda v, outcome: tally.update([(v.file, outcome)]))
    for name in sorted({file for file, _ in tally}):
        say(f"  {name:<18} {tally[name, 'pass']:>4} pass  {tally[name, 'fail']:>4} fail")
    return conclude_selection(
        result,
        Redactor(),
        args,
        command="check-parser",
        what="vectors answered",
        unjudged="selected, but no vector judged it",
    )
