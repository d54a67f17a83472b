"""``regenkey check-server``: judge a server against the spec.

Exit 0 conformant (no MUST failed; with ``--strict`` no SHOULD either),
1 not conformant, 2 usage error or the target broke (ERROR).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # the kit loads in run(), so that `regenkey --help` stays quick
    from conformance.registry import CheckSpec
    from conformance.runner import ServerSuiteConfig


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "check-server",
        help="judge a server against the spec (default: the embedded reference server)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--base-url", help="the server to judge; without it, the embedded one")
    p.add_argument("--user-id")
    p.add_argument("--password", help="or REGENKEY_PASSWORD (keeps it off the command line)")
    p.add_argument("--api-key", help="the current key, or REGENKEY_API_KEY")
    p.add_argument("--max-examples", type=int, default=25, help="generated cases per check")
    p.add_argument("--seed", type=int, help="replay a run: same seed, same cases")
    p.add_argument("--strict", action="store_true", help="a broken SHOULD fails the run too")
    p.add_argument("--req", action="append", metavar="ID", help="only these requirement ids")
    p.add_argument(
        "--list", action="store_true", help="list the checks and their ids, send nothing"
    )
    p.add_argument("--report-dir", type=Path, help="default reports/<timestamp>/")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--live", action="store_true", help="allow rotating keys on a remote server")
    p.add_argument("--key-file", type=Path, help="every new key is written here (mode 0600)")
    p.add_argument(
        "--max-rotations",
        type=int,
        default=3,
        help="with --live: regenerate the key at most this often (default 3)",
    )
    p.add_argument("--tricky-user-id", metavar="USER",
                   help="a second account whose password needs URL-encoding (a space, +, &, =, "
                        "%%), for RK-PARAM-002; not with --live")  # fmt: skip
    p.add_argument("--tricky-password", help="its password, or REGENKEY_TRICKY_PASSWORD")
    p.add_argument("--record", type=Path, metavar="DIR",
                   help="save the exchanges, redacted, for `regenkey replay DIR`")  # fmt: skip
    p.set_defaults(handler=run)


def defaults() -> argparse.Namespace:
    """The arguments of a plain ``regenkey check-server`` (used by ``regenkey run``)."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["check-server"])


def _list(checks: list[CheckSpec]) -> int:
    for spec in checks:
        print(f"{spec.name}\n    {', '.join(spec.requirement_ids)}\n    {spec.summary}")
    return 0


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _usage_problem(args: argparse.Namespace) -> str | None:
    from regenkey.terminal import unknown_ids

    if unknown_ids(args.req):
        return unknown_ids(args.req)
    if args.max_examples < 1:
        return "--max-examples must be at least 1"
    if args.base_url is None:
        return None
    if urlsplit(args.base_url).scheme not in ("http", "https"):
        return f"--base-url must be an http(s) URL, not {args.base_url!r}"
    if not args.user_id or not args.password:
        return "--user-id and --password (or REGENKEY_PASSWORD) are required with --base-url"
    if bool(args.tricky_user_id) != bool(args.tricky_password):
        return "--tricky-user-id and --tricky-password (or REGENKEY_TRICKY_PASSWORD) go together"
    if args.tricky_user_id and args.live:
        return "--tricky-user-id is for sandbox servers: a live run rotates one account only"
    if not _is_loopback(args.base_url) and not args.live:
        return (
            "this run would regenerate (rotate) keys on a non-loopback server; "
            "pass --live (and --key-file) if that is what you want"
        )
    if args.live and args.key_file is None:
        return "--live needs --key-file, so that no new key can be lost"
    if args.live and args.max_rotations < 1:
        return "--max-rotations must be at least 1"
    return None


def run(args: argparse.Namespace) -> int:
    from conformance import Redactor
    from conformance.recording import Recorder
    from conformance.reports import write_reports
    from conformance.runner import ServerSuiteConfig, run_server_suite, selected_checks
    from regenkey.keyfile import KeyFile
    from regenkey.terminal import new_seed, print_summary, progress_printer, report_dir

    args.password = args.password or os.environ.get("REGENKEY_PASSWORD")
    args.api_key = args.api_key or os.environ.get("REGENKEY_API_KEY")
    args.tricky_password = args.tricky_password or os.environ.get("REGENKEY_TRICKY_PASSWORD")
    requirements = frozenset(args.req) if args.req else None
    if args.list:
        return _list(selected_checks(requirements))
    problem = _usage_problem(args)
    if problem:
        print(f"regenkey check-server: {problem}", file=sys.stderr)
        return 2
    seed = new_seed(args.seed)
    reports = report_dir(args.report_dir)
    redactor = Redactor()
    with ExitStack() as stack:
        tricky = None
        if args.base_url is None:
            # Only the embedded run needs the reference server (and uvicorn).
            from conformance.loopback import serving
            from reference_impl.server import MemoryStore, build_app
            from regenkey.embedded import throwaway_accounts

            account, tricky = throwaway_accounts()
            store = MemoryStore()
            for each in (account, tricky):
                store.add_account(each.user_id, each.password)
            base_url = stack.enter_context(serving(build_app(store)))
            user_id, password, api_key = account.user_id, account.password, None
            print(f"Judging the embedded reference server at {base_url}")
        else:
            base_url, user_id, password, api_key = (
                args.base_url, args.user_id, args.password, args.api_key,
            )  # fmt: skip
            if args.tricky_user_id:
                from regenkey.embedded import SandboxAccount

                tricky = SandboxAccount(args.tricky_user_id, args.tricky_password)
            print(f"Judging {base_url}")
        key_file = KeyFile(args.key_file) if args.key_file else None
        recorder = None
        if args.record is not None:
            secrets = [password, api_key, tricky.password if tricky else None]
            recorder = Recorder(args.record, Redactor(filter(None, secrets), mask_all_keys=False))
            stack.callback(recorder.close)
        config = ServerSuiteConfig(
            base_url, user_id, password, api_key, seed, args.max_examples, args.strict,
            requirements, args.timeout, key_file.write if key_file else None,
            tricky.user_id if tricky else None, tricky.password if tricky else None,
            args.max_rotations if args.live else None, recorder,
        )  # fmt: skip
        if args.live:
            if key_file is not None:
                for leftover in key_file.leftovers():
                    print(f"WARNING: {leftover} was left by a run stopped while saving a "
                          "key; it may hold the newest key (the kit never deletes it)")  # fmt: skip
            _print_plan(config, args.key_file)
        result = run_server_suite(config, redactor, progress_printer(redactor))
    print_summary(result, redactor, "requests")
    paths = write_reports(result, reports, redactor)
    print(f"Reports: {paths['json'].parent}")
    return result.exit_code()


def _print_plan(config: ServerSuiteConfig, key_file: Path) -> None:
    from conformance.runner import selected_checks

    checks = selected_checks(config.requirements, live=True)
    print(
        f"LIVE RUN against {config.base_url}: the key of {config.user_id!r} will be "
        f"regenerated at most {config.max_rotations} times."
    )
    print(f"Every new key is written to {key_file} (mode 0600) before the next request.")
    print("Plan (checks that rotate nothing first; the rest stop when the budget is spent):")
    for spec in checks:
        kind = "rotates" if spec.destructive else "safe   "
        print(f"  {kind}  {spec.name}  ({', '.join(spec.requirement_ids)})")
    print(flush=True)
