"""Entry point of the ``regenkey`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

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
from regenkey.progress import close_all


class _PlainText(argparse.HelpFormatter):
    """Help without the double backquotes of the docstrings' reStructuredText
    markup: the terminal shows --strict, not the markup around it."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(text.replace("``", ""))

    def _expand_help(self, action: argparse.Action) -> str:
        return super()._expand_help(action).replace("``", "")


class _VersionAction(argparse.Action):
    """``--version``: the kit, the catalogue and the spec digest (what a report names);
    computed only when asked, so that other commands do not pay for it."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str = argparse.SUPPRESS,
        default: str = argparse.SUPPRESS,
        help: str | None = None,
    ) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from conformance.spec.catalogue import kit_identity

        print(kit_identity().line())
        parser.exit()


def _plain(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` a formatter that drops RST markup, keeping its own layout."""
    own: Any = parser.formatter_class
    if isinstance(own, type) and not issubclass(own, _PlainText):
        plain: Any = type(f"Plain{own.__name__}", (_PlainText, own), {})
        parser.formatter_class = plain


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser, and each subcommand's own parser by name."""
    parser = argparse.ArgumentParser(
        prog="regenkey",
        description="Spec and conformance kit for /SMSApi/rest/regenerateAPIKey.",
        formatter_class=_PlainText,
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the kit's version, the catalogue's version and the spec's sha256, and exit",
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
    for sub in subparsers.choices.values():
        _plain(sub)
    return parser, dict(subparsers.choices)


def build_parser() -> argparse.ArgumentParser:
    return _build()[0]


def _generation_cache() -> None:
    """Hypothesis keeps what it builds once (its Unicode tables take seconds)
    under ``.hypothesis/`` in the current directory: a run would leave that in
    the user's directory and build it again in every new one. The command puts
    it in the user's cache instead (``$XDG_CACHE_HOME/regenkey/hypothesis``,
    else ``~/.cache/...``), unless ``HYPOTHESIS_STORAGE_DIRECTORY`` names a
    place or Hypothesis is already running in this process (a host's pytest)."""
    if "HYPOTHESIS_STORAGE_DIRECTORY" in os.environ or "hypothesis" in sys.modules:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(base, "regenkey", "hypothesis")


def main(argv: Sequence[str] | None = None) -> int:
    _generation_cache()
    parser, commands = _build()
    args, extra = parser.parse_known_args(argv)
    if extra:  # a flag the subcommand does not know: its usage, not the top level's
        commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        close_all()  # the live progress line ends before the message
        print("interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head`): no traceback, not a pass
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the final flush cannot raise again
        return 2
    finally:
        close_all()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
