"""``regenkey replay DIR``: re-judge a recorded run against the current spec."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "replay",
        help="re-judge exchanges saved by check-server --record, offline",
        description="Judge every recorded response body against the spec as it is now and "
        "report spec drift (verdicts that changed since recording). Exit 0 when every body "
        "conforms and nothing drifted, 1 otherwise, 2 when DIR holds no recording.",
    )
    p.add_argument("directory", type=Path, metavar="DIR")
    p.add_argument("--report-dir", type=Path, help="also write report.json, junit.xml, html")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from conformance import Redactor
    from conformance.recording import FILE, replay
    from conformance.reports import format_failure, write_reports

    if not (args.directory / FILE).is_file():
        print(f"regenkey replay: no {FILE} in {args.directory}", file=sys.stderr)
        return 2
    try:
        result, drift = replay(args.directory)
    except (ValueError, KeyError) as exc:
        print(f"regenkey replay: the recording is damaged ({type(exc).__name__})", file=sys.stderr)
        return 2
    redactor = Redactor()
    for req in result.ordered():
        for failure in req.failures[:3]:
            print(redactor(format_failure(failure, req.level)))
    for item in drift:
        then = ", ".join(sorted(item.then)) or "valid"
        now = ", ".join(sorted(item.now)) or "valid"
        print(f"DRIFT exchange {item.line}: recorded as {then}, judged now as {now}")
    if args.report_dir is not None:
        write_reports(result, args.report_dir, redactor)
    print(f"{result.cases} exchanges; {len(drift)} drifted; verdict {result.verdict.upper()}")
    return 1 if drift or result.verdict == "fail" else 0
