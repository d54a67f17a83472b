"""``regenkey replay DIR``: re-judge a recorded run against the current spec."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "replay",
        help="re-judge exchanges saved by check-server --record, offline",
        description="Judge every recorded response body against the spec as it is now and "
        "report spec drift (verdicts that changed since recording). Exit 0 PASS (every body "
        "conforms, nothing drifted), 1 FAIL (a body breaks a MUST, or drift), 2 when DIR holds "
        "no readable recording or nothing in it could be judged (INCOMPLETE).",
    )
    p.add_argument("directory", type=Path, metavar="DIR")
    p.add_argument("--report-dir", type=Path, help="also write report.json, junit.xml, html")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from conformance import Redactor
    from conformance.server.recording import FILE, replay
    from regenkey.terminal import conclude, refuse

    if not (args.directory / FILE).is_file():
        return refuse("replay", f"no {FILE} in {args.directory}")
    try:
        result, drift = replay(args.directory)
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        return refuse("replay", f"the recording is damaged ({type(exc).__name__})")
    # Spec drift fails the run: it is part of the one verdict every writer reads.
    for item in drift:
        then = ", ".join(sorted(item.then)) or "valid"
        now = ", ".join(sorted(item.now)) or "valid"
        result.run_failures.append(
            f"DRIFT exchange {item.line}: recorded as {then}, judged now as {now}"
        )
    return conclude(
        result,
        Redactor(),
        command="replay",
        what=f"exchanges ({len(drift)} drifted)",
        directory=args.report_dir,
        reports=False,  # a replay writes reports only when asked to
    )
