"""``regenkey call``: the reference client on the command line.

Exit 0 on success, 1 on an API error, 2 on a usage, connection or protocol
error. With ``--adapter`` it follows the client-adapter contract of the
client suite: inputs from ``REGENKEY_*`` variables, the parsed record printed
as one JSON object.

A call rotates the key: the old one stops working. So it needs somewhere to
put the new one, ``--key-file PATH`` (written atomically, mode 0600, before
anything else is printed) or ``--show-key``, and refuses to send without
either; a non-loopback target also needs ``--live``, as in check-server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "call",
        help="regenerate an API key with the reference client",
        description="Regenerate an API key. Exit 0 success, 1 API error, "
        "2 usage, connection or protocol error. Secrets may come from "
        "REGENKEY_PASSWORD / REGENKEY_API_KEY instead of the command line.",
    )
    parser.add_argument("--base-url", help="e.g. http://127.0.0.1:8080, or REGENKEY_BASE_URL")
    parser.add_argument("--user-id")
    parser.add_argument("--password")
    parser.add_argument("--api-key")
    parser.add_argument("--format", default="json", help="plain, json or xml (default json)")
    parser.add_argument("--method", default="POST", choices=["GET", "POST", "get", "post"])
    parser.add_argument(
        "--encoding",
        default=None,
        choices=["form", "query", "multipart", "xml"],
        help="where parameters travel (default: form for POST, query for GET)",
    )
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--show-key", action="store_true", help="print the new key unmasked")
    parser.add_argument(
        "--key-file",
        type=Path,
        metavar="PATH",
        help="write the new key here (atomically, mode 0600) before printing",
    )
    parser.add_argument(
        "--live", action="store_true", help="allow rotating the key of a non-loopback (real) server"
    )
    parser.add_argument(
        "--proxy",
        metavar="URL",
        help="reach a live target through this "
        "http:// proxy; the environment's HTTP(S)_PROXY is never used",
    )
    parser.add_argument(
        "--adapter",
        action="store_true",
        help="client-suite adapter: read REGENKEY_* variables, print the parsed record as JSON",
    )
    parser.set_defaults(handler=run)


def _settings(args: argparse.Namespace) -> dict[str, str | None]:
    env = os.environ
    if args.adapter:
        return {
            "base_url": env.get("REGENKEY_BASE_URL"),
            "user_id": env.get("REGENKEY_USER_ID"),
            "password": env.get("REGENKEY_PASSWORD"),
            "api_key": env.get("REGENKEY_API_KEY"),
            "format": env.get("REGENKEY_FORMAT", "json"),
        }
    return {
        "base_url": args.base_url or env.get("REGENKEY_BASE_URL"),
        "user_id": args.user_id,
        "password": args.password or env.get("REGENKEY_PASSWORD"),
        "api_key": args.api_key or env.get("REGENKEY_API_KEY"),
        "format": args.format,
    }


def _usage_problem(args: argparse.Namespace, base_url: str) -> str | None:
    from conformance.transport.exchange import is_loopback

    if args.adapter:
        return None  # the adapter contract: the record, key and all, goes to stdout
    if args.key_file is None and not args.show_key:
        return (
            "a call regenerates the key and the old one stops working: pass --key-file PATH "
            "(the new key is saved there, mode 0600) or --show-key (it is printed)"
        )
    if not is_loopback(base_url) and not args.live:
        return (
            f"this call would regenerate (rotate) the key on {base_url}, a non-loopback "
            "server; pass --live if that is what you want"
        )
    return None


def run(args: argparse.Namespace) -> int:
    from conformance import mask_key
    from reference_impl.client import (
        ApiError,
        ProtocolError,
        RegenkeyClientError,
        TransportError,
        regenerate_api_key,
    )
    from regenkey.keyfile import KeyFile, KeyNotSaved, print_unsaved_key
    from regenkey.proxy import choose_proxy
    from regenkey.terminal import base_url_problem

    s = _settings(args)
    if not s["base_url"]:
        print("regenkey call: --base-url (or REGENKEY_BASE_URL) is required", file=sys.stderr)
        return 2
    base_url = s["base_url"]
    bad_url = base_url_problem(base_url)
    if bad_url:
        print(f"regenkey call: {bad_url}", file=sys.stderr)
        return 2
    key_file = KeyFile(args.key_file) if args.key_file is not None and not args.adapter else None
    proxy, notes, problem = choose_proxy(args.proxy, base_url)
    problem = problem or _usage_problem(args, base_url)
    if problem is None and key_file is not None:
        unwritable = key_file.preflight()
        problem = f"--key-file: {unwritable}" if unwritable else None
    if problem:
        print(f"regenkey call: {problem}; nothing was sent", file=sys.stderr)
        return 2
    for note in notes:
        print(note, file=sys.stderr)
    if s["api_key"]:
        s["user_id"] = s["password"] = None
    method = args.method.upper()
    encoding = args.encoding or ("query" if method == "GET" else "form")
    try:
        result = regenerate_api_key(
            base_url,
            user_id=s["user_id"],
            password=s["password"],
            api_key=s["api_key"],
            format=s["format"] or "json",
            method=method,
            encoding=encoding,
            timeout=args.timeout,
            proxy=proxy,
        )
    except ApiError as exc:
        if args.adapter:
            record = {"status": "error", "statusCode": exc.status_code, "reason": exc.reason}
            print(json.dumps(record))
        else:
            print(f"error: statusCode={exc.status_code} reason={exc.reason}", file=sys.stderr)
        return 1
    except ProtocolError as exc:
        print(f"regenkey call: {exc}", file=sys.stderr)
        return 2
    except TransportError as exc:
        print(f"regenkey call: {exc}", file=sys.stderr)
        return 2
    except (RegenkeyClientError, ValueError) as exc:
        print(f"regenkey call: {exc}", file=sys.stderr)
        return 2
    if args.adapter:
        print(json.dumps(result.record.as_dict()))
        return 0
    saved = ""
    if key_file is not None:  # before anything else is printed
        try:
            key_file.save(result.api_key)
        except KeyNotSaved as stop:
            print_unsaved_key(stop, "call")
            return 2
        saved = f" (saved to {key_file.path})"
    key = result.api_key if args.show_key else mask_key(result.api_key)
    print(f"status=success apiKey={key} statusCode={result.record.status_code}{saved}")
    return 0
