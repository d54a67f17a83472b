"""``--req`` and ``--allow-skip``, the same for check-server, check-client and
check-parser: declared once, checked once, and handed to the one ending
(:func:`conclude_selection`). Also what check-client and check-parser share:
how a suite command is declared, ``--command`` and ``--timeout``.

This module loads no part of the kit at import (``regenkey --help`` stays
quick); the check itself loads ``regenkey.terminal`` when it runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeAlias

    from conformance import Redactor
    from conformance.judging.results import RunResult

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def add_suite_command(
    subparsers: Subparsers, name: str, summary: str, doc: str | None
) -> argparse.ArgumentParser:
    """The parser of one suite command: ``summary`` in ``regenkey --help``,
    ``doc`` (its module's docstring) as the description, shown as written."""
    return subparsers.add_parser(
        name, help=summary, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


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


def conclude_selection(
    result: RunResult,
    redactor: Redactor,
    args: argparse.Namespace,
    *,
    command: str,
    what: str,
    unjudged: str,
) -> int:
    """:func:`regenkey.terminal.conclude` with what :func:`add_selection` declared
    and :func:`selection_problem` checked: the report directory, the ids selected
    and the skips allowed."""
    from regenkey.terminal import conclude

    return conclude(
        result,
        redactor,
        command=command,
        what=what,
        directory=args.report_dir,
        allowed=args.allowed,
        requirements=args.requirements,
        unjudged=unjudged,
    )
