"""``regenkey check-server``: judge a server against the spec.

The target is ``--base-url``, else ``REGENKEY_BASE_URL``, else the embedded
reference server. Exit 0 PASS (no MUST failed; with ``--strict`` no SHOULD
either), 1 FAIL, 2 usage error, INCOMPLETE (a selected MUST not judged and
not named in ``--allow-skip``) or ERROR (the kit or the target broke).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from regenkey.selection import add_selection

if TYPE_CHECKING:  # the kit loads in run(), so that `regenkey --help` stays quick
    from conformance.server.runner import Account, Live, ServerSuiteConfig, Target

LIVE_BAD_LOGINS = 2  # the default --max-bad-logins of a live run


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "check-server",
        help="judge a server against the spec (default: the embedded reference server)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--base-url",
        help="the server to judge, or REGENKEY_BASE_URL; without either, the embedded one",
    )
    p.add_argument("--user-id")
    p.add_argument("--password", help="or REGENKEY_PASSWORD (keeps it off the command line)")
    p.add_argument("--api-key", help="the current key, or REGENKEY_API_KEY")
    p.add_argument("--max-examples", type=int, default=25, help="generated cases per check")
    p.add_argument("--seed", type=int, help="replay a run: same seed, same cases")
    add_selection(p, "requirement ids", "RK-ROT-*", listing="send nothing")
    p.add_argument(
        "--plan",
        action="store_true",
        help="print the plan (what each kind of request that can harm the account "
        "costs) and send nothing",
    )
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--live", action="store_true", help="allow rotating keys on a remote server")
    p.add_argument("--key-file", type=Path, help="every new key is written here (mode 0600)")
    p.add_argument(
        "--max-rotations",
        type=int,
        default=3,
        help="with --live: regenerate the key at most this often (default 3)",
    )
    p.add_argument(
        "--max-bad-logins",
        type=int,
        metavar="N",
        help="wrong-password attempts on the account at most (default 2 with "
        "--live, else unbounded)",
    )
    p.add_argument(
        "--tricky-user-id",
        metavar="USER",
        help="a second account whose password needs URL-encoding (a space, +, &, =, "
        "%%), for RK-PARAM-002; not with --live",
    )
    p.add_argument("--tricky-password", help="its password, or REGENKEY_TRICKY_PASSWORD")
    p.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="save the exchanges, redacted, for `regenkey replay DIR`",
    )
    p.add_argument(
        "--proxy",
        metavar="URL",
        help="reach a live (non-loopback) target through "
        "this http:// proxy; the environment's HTTP(S)_PROXY is never used",
    )
    p.set_defaults(handler=run)


def defaults() -> argparse.Namespace:
    """The arguments of a plain ``regenkey check-server`` (used by ``regenkey run``)."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["check-server"])


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _selection_problem(args: argparse.Namespace) -> str | None:
    """What --list and --plan need already: the ids, the budgets, the target's form.
    Sets ``args.requirements`` and ``args.allowed``."""
    from regenkey.selection import selection_problem
    from regenkey.terminal import base_url_problem

    problem = selection_problem(args, "server")
    if problem:
        return problem
    if args.max_examples < 1:
        return "--max-examples must be at least 1"
    if args.max_bad_logins is not None and args.max_bad_logins < 0:
        return "--max-bad-logins must be 0 or more"
    if args.live and args.max_rotations < 1:
        return "--max-rotations must be at least 1"
    return None if args.base_url is None else base_url_problem(args.base_url)


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.base_url is None:
        return None
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
    return None


def _live(args: argparse.Namespace) -> Live | None:
    """A live run's budgets (rotations, wrong-password attempts), or None (a sandbox)."""
    from conformance.server.runner import Live

    if not args.live:
        return None
    bad = args.max_bad_logins if args.max_bad_logins is not None else LIVE_BAD_LOGINS
    return Live(max_rotations=args.max_rotations, max_bad_logins=bad)


def _config(
    args: argparse.Namespace, target: Target, account: Account, tricky: Account | None, seed: int
) -> ServerSuiteConfig:
    """The run ``args`` ask for, against ``target`` with these accounts."""
    from conformance.server.runner import ServerSuiteConfig

    live = _live(args)
    return ServerSuiteConfig(
        target=target,
        account=account,
        tricky=tricky,
        live=live,
        max_bad_logins=args.max_bad_logins if live is None else None,
        seed=seed,
        max_examples=args.max_examples,
        strict=args.strict,
        requirements=args.requirements,
    )


def run(args: argparse.Namespace) -> int:
    from conformance import Redactor
    from conformance.server.recording import Recorder
    from conformance.server.runner import Account, Target, run_server_suite, selected_checks
    from regenkey.keyfile import KeyFile, KeyNotSaved, print_unsaved_key
    from regenkey.plan import print_plan
    from regenkey.proxy import choose_proxy
    from regenkey.terminal import (
        base_url_from,
        conclude,
        list_checks,
        new_seed,
        progress_printer,
        refuse,
        say,
    )

    if not getattr(args, "embedded_only", False):
        base_url_from(args)  # --base-url, else REGENKEY_BASE_URL: judged or refused
    # The lean install judges a --base-url; the embedded server and the rehearsed plan
    # (--plan, --live) need the reference server: the server extra.
    if args.plan or args.live or (args.base_url is None and not args.list):
        from regenkey.extras import missing_extra

        why = (
            " (the embedded reference server)"
            if args.base_url is None and not (args.plan or args.live)
            else " (the plan is rehearsed against the reference server)"
        )
        if problem := missing_extra("check-server", why=why):
            say(problem, err=True)
            return 2
    args.password = args.password or os.environ.get("REGENKEY_PASSWORD")
    args.api_key = args.api_key or os.environ.get("REGENKEY_API_KEY")
    args.tricky_password = args.tricky_password or os.environ.get("REGENKEY_TRICKY_PASSWORD")
    problem = _selection_problem(args)
    if problem:
        return refuse("check-server", problem)
    if args.list:
        list_checks(selected_checks(args.requirements))
    if args.plan:
        print_plan(_plan_config(args, new_seed(args.seed)), args.key_file)
    if args.list or args.plan:
        return 0
    problem = _usage_problem(args)
    if problem:
        return refuse("check-server", problem)
    seed = new_seed(args.seed)
    redactor = Redactor()
    with ExitStack() as stack:
        tricky = None
        if args.base_url is None:
            # Only the embedded run needs the reference server (and uvicorn).
            from conformance.transport.loopback import serving
            from reference_impl.server import MemoryStore, build_app
            from regenkey.embedded import throwaway_accounts

            account, tricky = throwaway_accounts()
            store = MemoryStore()
            for each in (account, tricky):
                store.add_account(each.user_id, each.password)
            base_url = stack.enter_context(serving(build_app(store)))
            print(f"Judging the embedded reference server at {base_url}")
        else:
            base_url = args.base_url
            account = Account(args.user_id, args.password, args.api_key)
            if args.tricky_user_id:
                tricky = Account(args.tricky_user_id, args.tricky_password)
            say(f"Judging {base_url}")
        # --- issue 13: the key file proven writable, and the proxy (before any request) ---
        key_file = KeyFile(args.key_file) if args.key_file else None
        unwritable = key_file.preflight() if key_file is not None else None
        proxy, notes, proxy_problem = choose_proxy(args.proxy, base_url)
        if unwritable or proxy_problem:
            detail = f"--key-file: {unwritable}" if unwritable else proxy_problem
            return refuse("check-server", f"{detail}; nothing was sent")
        for note in notes:
            say(note)
        # --- end of issue 13 block ---
        recorder = None
        if args.record is not None:
            secrets = [account.password, account.api_key, tricky.password if tricky else None]
            try:
                recorder = Recorder(
                    args.record, Redactor(filter(None, secrets), mask_all_keys=False)
                )
            except OSError as exc:
                return refuse("check-server", f"cannot record to {args.record}: {exc}")
            stack.callback(recorder.close)
        target = Target(base_url=base_url, proxy=proxy, timeout=args.timeout)
        config = replace(
            _config(args, target, account, tricky, seed),
            on_new_key=key_file.save if key_file else None,
            recorder=recorder,
        )
        if config.live is not None:
            if key_file is not None:
                for leftover in key_file.leftovers():
                    print(
                        f"WARNING: {leftover} was left by a run stopped while saving a "
                        "key; it may hold the newest key (the kit never deletes it)"
                    )
            print_plan(config, args.key_file)
        try:
            result = run_server_suite(config, redactor, progress_printer(redactor))
        except KeyNotSaved as stop:  # issue 13: not one request more; the key's last copy
            print_unsaved_key(stop, "check-server")
            return 2
    return conclude(
        result,
        redactor,
        command="check-server",
        what="requests",
        directory=args.report_dir,
        allowed=args.allowed,
    )


def _plan_config(args: argparse.Namespace, seed: int) -> ServerSuiteConfig:
    """The run --plan describes (the target is only named, never contacted)."""
    from conformance.server.runner import Account, Target

    target = Target(base_url=args.base_url or "the embedded reference server")
    tricky = Account(args.tricky_user_id, "") if args.tricky_user_id else None
    return _config(args, target, Account(args.user_id or "(throwaway)", ""), tricky, seed)
