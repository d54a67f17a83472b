"""``--req`` and ``--allow-skip``, the same for check-server, check-client and
check-parser: declared once, checked once.

This module loads no part of the kit at import (``regenkey --help`` stays
quick); the check itself loads ``regenkey.terminal`` when it runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_selection(
    p: argparse.ArgumentParser, what: str, example: str, *, listing: str | None = None
) -> None:
    """The options every suite command shares: ``--strict``, ``--req`` (``what``:
    "requirement ids", "vectors of these ids"), ``--allow-skip``, ``--report-dir``,
    and ``--list`` when ``listing`` says what it leaves out ("send nothing")."""
    p.add_argument("--strict", action="store_true", help="a broken SHOULD fails the run too")
    p.add_argument(
        "--req",
        action="append",
        metavar="ID",
        help=f"only {what} (comma lists and globs: {example})",
    )
    p.add_argument(
        "--allow-skip",
        action="extend",
        nargs="+",
        metavar="ID",
        help="selected MUSTs that may end unjudged (SKIP) without making the run "
        "INCOMPLETE: ids, comma lists, globs, or all",
    )
    if listing is not None:
        p.add_argument(
            "--list", action="store_true", help=f"list the checks and their ids, {listing}"
        )
    p.add_argument("--report-dir", type=Path, help="default reports/<timestamp>/")


def selection_problem(args: argparse.Namespace, suite: str) -> str | None:
    """Set ``args.requirements`` and ``args.allowed`` for ``suite`` ("server",
    "client" or "parser"), or say what is wrong with them."""
    from regenkey.terminal import allowed_skips, select_ids

    args.requirements, problem = select_ids(args.req, suite)
    if problem:
        return problem
    args.allowed, problem = allowed_skips(args.allow_skip)
    return f"--allow-skip: {problem}" if problem else None


def command_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--command`` and ``--timeout`` (check-client, check-parser)."""
    if not args.command:
        return "--command is required"
    if args.timeout <= 0:
        return "--timeout must be positive"
    return None
