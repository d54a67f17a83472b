"""``regenkey serve``: the reference server, a sandbox for SDK authors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reference_impl.server.connections import Limits
    from reference_impl.server.passwords import PasswordCost
    from reference_impl.server.store import Store

# Under a directory .gitignore covers, so that a sandbox's database (password
# hashes, keys) is never committed by accident.
DEFAULT_DB = Path(".regenkey") / "regenkey.sqlite3"
NO_ACCOUNTS = (
    "regenkey serve: WARNING: no accounts, so every request will be refused; add one with "
    "--account USER:PASSWORD, --accounts-file FILE (one USER:PASSWORD a line) or "
    "REGENKEY_ACCOUNTS (one a line)"
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the reference server",
        description="Run the reference server. Accounts come from --account USER:PASSWORD, "
        "--accounts-file (one USER:PASSWORD a line) or REGENKEY_ACCOUNTS (one a line), so "
        "that passwords need not sit on a command line.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8080, help="0 picks a free port (printed) (default 8080)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--db",
        type=Path,
        default=DEFAULT_DB,
        metavar="PATH",
        help=f"SQLite file; kept across restarts (default {DEFAULT_DB}, its folder created)",
    )
    where.add_argument("--memory", action="store_true", help="keep everything in memory")
    p.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help="an account to add (repeatable; default: none)",
    )
    p.add_argument(
        "--accounts-file",
        type=Path,
        metavar="FILE",
        help="accounts to add, one USER:PASSWORD a line (default: none)",
    )
    p.add_argument("--max-body", type=int, help="bytes (default 64 KiB)")
    p.add_argument(
        "--password-cost",
        default="modern",
        metavar="COST",
        help="how passwords are hashed: 'modern' (default; scrypt N=2^14 r=8 p=5), 'fast' "
        "(for tests only: costs microseconds, never for real passwords) or scrypt:N:R:P",
    )
    p.add_argument(
        "--head-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds a request's head and body may take to arrive (default 10)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=0,
        metavar="N",
        help="open connections at most; the connection idle longest is closed to make room "
        "(default: sized from the file-descriptor limit)",
    )
    p.set_defaults(handler=run)


def _limits(args: argparse.Namespace) -> tuple[Limits, PasswordCost]:
    """The connection limits and password cost the arguments ask for (ValueError if wrong)."""
    from reference_impl.server.connections import Limits
    from reference_impl.server.passwords import parse_cost

    if args.max_body is not None and args.max_body < 1:
        raise ValueError("--max-body must be at least 1 byte")
    if args.max_connections < 0:
        raise ValueError("--max-connections must be at least 1 (0: the default)")
    if not 0 < args.head_timeout <= 3600:
        raise ValueError("--head-timeout must be more than 0 and at most 3600 seconds")
    try:
        cost = parse_cost(args.password_cost)
    except ValueError as exc:
        raise ValueError(f"--password-cost: {exc}") from None
    return Limits(args.head_timeout, args.max_connections), cost


def run(args: argparse.Namespace) -> int:
    from regenkey.extras import missing_extra

    if problem := missing_extra("serve"):  # the lean install: no reference server
        print(problem, file=sys.stderr)
        return 2
    from reference_impl.server import (
        DEFAULT_MAX_BODY,
        MemoryStore,
        SqliteStore,
        StoreError,
        accounts_from_env,
        accounts_from_file,
        load_accounts,
        parse_account_spec,
        serve,
    )

    try:
        limits, cost = _limits(args)
        accounts = [parse_account_spec(a) for a in args.account]
        if args.accounts_file is not None:
            accounts += accounts_from_file(args.accounts_file)
        accounts += accounts_from_env()
    except (ValueError, OSError) as exc:
        print(f"regenkey serve: {exc}", file=sys.stderr)
        return 2
    try:
        if not args.memory and args.db == DEFAULT_DB:
            DEFAULT_DB.parent.mkdir(mode=0o700, exist_ok=True)
        store: Store = MemoryStore(cost) if args.memory else SqliteStore(args.db, cost)
    except OSError as exc:
        print(f"regenkey serve: cannot create {DEFAULT_DB.parent}: {exc.strerror}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"regenkey serve: {exc}", file=sys.stderr)
        return 2
    try:
        load_accounts(store, accounts)
        warn_without_accounts(store)
        max_body = DEFAULT_MAX_BODY if args.max_body is None else args.max_body
        serve(args.host, args.port, store, max_body=max_body, limits=limits)
    except ValueError as exc:  # an account the store refuses (its message names no secret)
        print(f"regenkey serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"regenkey serve: cannot listen on {args.host}:{args.port} ({exc.strerror})",
            file=sys.stderr,
        )
        return 2
    finally:
        store.close()
    return 0


def warn_without_accounts(store: Store) -> None:
    """A server with no account refuses everything: say so, and how to add one."""
    if store.count_accounts() == 0:
        print(NO_ACCOUNTS, file=sys.stderr, flush=True)
