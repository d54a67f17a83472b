"""``regenkey docs --out DIR``: write the endpoint's reference (index.md, index.html).

The responses it shows come from the embedded reference server, started in
this process with a throwaway account, and are validated before they are
written. Exit 0 written, 2 the directory cannot be written or a response
could not be produced.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "docs",
        help="write the endpoint's reference as Markdown and one standalone HTML page",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, help="the directory to write into")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from regenkey.extras import missing_extra

    if problem := missing_extra("docs", why=" (its responses come from the reference server)"):
        print(problem, file=sys.stderr)
        return 2
    from regenkey.docs import write_docs
    from regenkey.docs.responses import DocsResponseError

    try:
        markdown, page = write_docs(args.out)
    except OSError as exc:
        print(f"regenkey docs: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    except DocsResponseError as exc:
        print(f"regenkey docs: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {markdown} and {page}")
    return 0
