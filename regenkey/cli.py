"""Entry point of the ``regenkey`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from regenkey import (
    call_cmd,
    check_client_cmd,
    check_server_cmd,
    docs_cmd,
    parser_cmd,
    replay_cmd,
    run_cmd,
    serve_cmd,
    validate_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regenkey",
        description="Spec and conformance kit for /SMSApi/rest/regenerateAPIKey.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_cmd.add_parser(subparsers)
    call_cmd.add_parser(subparsers)
    check_server_cmd.add_parser(subparsers)
    replay_cmd.add_parser(subparsers)
    serve_cmd.add_parser(subparsers)
    validate_cmd.add_parser(subparsers)
    check_client_cmd.add_parser(subparsers)
    parser_cmd.add_parser(subparsers)
    docs_cmd.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head`): no traceback, not a pass
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the final flush cannot raise again
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
