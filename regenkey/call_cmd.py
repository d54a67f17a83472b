"""``regenkey call``: the reference client on the command line.

Exit 0 on success, 1 on an API error, 2 on a usage, connection or protocol
error. With ``--adapter`` it follows the client-adapter contract of the
client suite: inputs from ``REGENKEY_*`` variables, the parsed record printed
as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "call",
        help="regenerate an API key with the reference client",
        description="Regenerate an API key. Exit 0 success, 1 API error, "
        "2 usage, connection or protocol error. Secrets may come from "
        "REGENKEY_PASSWORD / REGENKEY_API_KEY instead of the command line.",
    )
    parser.add_argument("--base-url", help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--user-id")
    parser.add_argument("--password")
    parser.add_argument("--api-key")
    parser.add_argument("--format", default="json", help="plain, json or xml (default json)")
    parser.add_argument("--method", default="POST", choices=["GET", "POST", "get", "post"])
    parser.add_argument(
        "--encoding", default=None, choices=["form", "query", "multipart", "xml"],
        help="where parameters travel (default: form for POST, query for GET)",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--show-key", action="store_true", help="print the new key unmasked")
    parser.add_argument(
        "--adapter", action="store_true",
        help="client-suite adapter: read REGENKEY_* variables, print the parsed record as JSON",
    )  # fmt: skip
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
        "base_url": args.base_url,
        "user_id": args.user_id,
        "password": args.password or env.get("REGENKEY_PASSWORD"),
        "api_key": args.api_key or env.get("REGENKEY_API_KEY"),
        "format": args.format,
    }


def run(args: argparse.Namespace) -> int:
    from conformance import mask_key
    from reference_impl.client import (
        ApiError,
        ProtocolError,
        RegenkeyClientError,
        TransportError,
        regenerate_api_key,
    )

    s = _settings(args)
    if not s["base_url"]:
        print("regenkey call: --base-url (or REGENKEY_BASE_URL) is required", file=sys.stderr)
        return 2
    if s["api_key"]:
        s["user_id"] = s["password"] = None
    method = args.method.upper()
    encoding = args.encoding or ("query" if method == "GET" else "form")
    try:
        result = regenerate_api_key(
            s["base_url"], user_id=s["user_id"], password=s["password"], api_key=s["api_key"],
            format=s["format"] or "json", method=method, encoding=encoding, timeout=args.timeout,
        )  # fmt: skip
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
    else:
        key = result.api_key if args.show_key else mask_key(result.api_key)
        print(f"status=success apiKey={key} statusCode={result.record.status_code}")
    return 0
