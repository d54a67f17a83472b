"""``--req`` and ``--allow-skip``, the same for check-server, check-client and
check-parser: declared once, checked once.

This module loads no part of the kit at import (``regenkey --help`` stays
quick); the check itself loads ``regenkey.terminal`` when it runs.
"""

from __future__ import annotations

import argparse


def add_selection(p: argparse.ArgumentParser, what: str, example: str) -> None:
    """Add ``--req`` (``what``: "requirement ids", "vectors of these ids") and ``--allow-skip``."""
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


def selection_problem(args: argparse.Namespace, suite: str) -> str | None:
    """Set ``args.requirements`` and ``args.allowed`` for ``suite`` ("server",
    "client" or "parser"), or say what is wrong with them."""
    from regenkey.terminal import allowed_skips, select_ids

    args.requirements, problem = select_ids(args.req, suite)
    if problem:
        return problem
    args.allowed, problem = allowed_skips(args.allow_skip)
    return f"--allow-skip: {problem}" if problem else None
