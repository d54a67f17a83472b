"""``regenkey validate``: judge response bodies saved in files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance import Format

# The values of conformance.Format, spelled out so that `regenkey --help` does
# not load the kit (tests/test_cli_startup.py holds the two equal).
FORMAT_CHOICES = ("plain", "json", "xml")
_BY_SUFFIX = {".json": "json", ".xml": "xml", ".txt": "plain"}
STDIN = Path("-")  # ``validate -``: the body on standard input


def sniff_format(path: Path, body: bytes) -> Format:
    """The format of a saved body: by file suffix, else by its first byte."""
    from conformance import Format

    if path.suffix.lower() in _BY_SUFFIX:
        return Format(_BY_SUFFIX[path.suffix.lower()])
    head = body.lstrip()[:1]
    if head in (b"{", b"["):
        return Format.JSON
    if head == b"<":
        return Format.XML
    return Format.PLAIN


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate saved response bodies against the spec",
        description="Validate response bodies. Exit 0 if all are valid, 1 if any is not, "
        "2 if one cannot be read. A FILE of - reads a body from standard input.",
    )
    parser.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="a saved body, or - for stdin"
    )
    parser.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        help="the format of every FILE (default: from the suffix .json/.xml/.txt or content)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from conformance import Format, requirement, validate_body
    from conformance.reporting.text import printable

    if args.files.count(STDIN) > 1:
        print("regenkey validate: - (standard input) can be given only once", file=sys.stderr)
        return 2
    failed = False
    for path in args.files:
        shown = "(standard input)" if path == STDIN else str(path)
        try:
            body = sys.stdin.buffer.read() if path == STDIN else path.read_bytes()
        except OSError as exc:
            print(printable(f"ERROR {shown}: cannot read ({exc.strerror})"))
            return 2
        fmt = Format(args.format) if args.format else sniff_format(path, body)
        verdict = validate_body(body, fmt)
        if verdict.ok:
            print(printable(f"PASS {shown} ({fmt.value})"))
            continue
        failed = True
        print(printable(f"FAIL {shown} ({fmt.value})"))
        for violation in verdict.violations:
            req = requirement(violation.requirement)
            print(printable(f"  {req.id} [{req.level}] {req.title}: {violation.message}"))
    return 1 if failed else 0
