"""``regenkey run``: the main job, as ``make run`` runs it."""

from __future__ import annotations

import argparse
import os
import sys

from regenkey import check_server_cmd


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="check the spec itself, then judge the embedded reference server",
        description="The main job: the spec's self-checks, then the server suite "
        "against the embedded reference server.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from regenkey.extras import missing_extra

    if problem := missing_extra("run"):  # the self-checks and the embedded reference server
        print(problem, file=sys.stderr)
        return 2
    from conformance import Level, catalogue
    from conformance.validation.selfcheck import run_self_checks

    reqs = catalogue()
    counts = {level: sum(1 for r in reqs if r.level is level) for level in Level}
    summary = ", ".join(f"{n} {level}" for level, n in counts.items())
    print(f"Spec: {len(reqs)} requirements ({summary})")
    failed = 0
    for result in run_self_checks():
        print(f"  {'PASS' if result.ok else 'FAIL'}  {result.label}")
        for problem in result.problems:
            print(f"        {problem}")
        failed += not result.ok
    if failed:
        print(f"{failed} spec self-check(s) failed")
        return 1
    print("The spec is consistent.\n")
    if os.environ.get("REGENKEY_BASE_URL") is not None:
        print(
            "Note: REGENKEY_BASE_URL is not used by `regenkey run` (it judges the embedded "
            "reference server); `regenkey check-server` judges that URL."
        )
    embedded = check_server_cmd.defaults()
    embedded.embedded_only = True  # never another target, whatever the environment says
    return check_server_cmd.run(embedded)
