"""``regenkey serve``: the reference server, a sandbox for SDK authors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the reference server",
        description="Run the reference server. Accounts come from --account USER:PASSWORD, "
        "--accounts-file (one USER:PASSWORD a line) or REGENKEY_ACCOUNTS (one a line), so "
        "that passwords need not sit on a command line.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--db", type=Path, default=Path("regenkey.sqlite3"), help="SQLite file")
    where.add_argument("--memory", action="store_true", help="keep everything in memory")
    p.add_argument("--account", action="append", default=[], metavar="USER:PASSWORD")
    p.add_argument("--accounts-file", type=Path)
    p.add_argument("--max-body", type=int, help="bytes (default 64 KiB)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from reference_impl.server import (
        DEFAULT_MAX_BODY,
        MemoryStore,
        SqliteStore,
        Store,
        accounts_from_env,
        accounts_from_file,
        load_accounts,
        parse_account_spec,
        serve,
    )

    if args.max_body is not None and args.max_body < 1:
        print("regenkey serve: --max-body must be at least 1 byte", file=sys.stderr)
        return 2
    try:
        accounts = [parse_account_spec(a) for a in args.account]
        if args.accounts_file is not None:
            accounts += accounts_from_file(args.accounts_file)
        accounts += accounts_from_env()
    except (ValueError, OSError) as exc:
        print(f"regenkey serve: {exc}", file=sys.stderr)
        return 2
    store: Store = MemoryStore() if args.memory else SqliteStore(args.db)
    try:
        load_accounts(store, accounts)
        max_body = DEFAULT_MAX_BODY if args.max_body is None else args.max_body
        serve(args.host, args.port, store, max_body=max_body)
    except OSError as exc:
        print(f"regenkey serve: cannot listen on {args.host}:{args.port} ({exc.strerror})",
              file=sys.stderr)  # fmt: skip
        return 2
    finally:
        store.close()
    return 0
