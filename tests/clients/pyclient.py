"""A one-file client of the adapter contract, correct unless told to break.

    python pyclient.py [--encoding form|query|multipart|xml] [--chunked]
                       [--lower-case] [--bom] [--bare-names] [--only-json]
                       [--raw] [--bug NAME] [--leaky]

--bom: the <Account> body as .NET's XmlWriter writes it (a byte-order mark,
a declaration in single quotes, standalone, a comment before the root);
--bare-names: multipart field names as bare tokens (name=userId, RFC 7578);
--only-json: an SDK that only ever asks for and parses JSON.

Its request timeout is REGENKEY_CLIENT_TIMEOUT (the kit's --timeout), 5 s
without it. Standard library only, and only what a run needs is imported
(no argparse; XML and uuid when used): the kit starts it once per scenario.
Each --bug breaks exactly one requirement (see tests/test_client_suite.py).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
from types import SimpleNamespace
from urllib.parse import quote, quote_plus, urlencode, urlsplit

PATH = "/SMSApi/rest/regenerateAPIKey"
FLAGS = ("chunked", "lower_case", "bom", "bare_names", "only_json", "raw", "leaky")
ENCODINGS = ("form", "query", "multipart", "xml")


def escape(value: str) -> str:
    """XML character data: & < > escaped (as xml.sax.saxutils.escape)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def arguments(argv: list[str]) -> SimpleNamespace:
    """--encoding E, --bug NAME and the on/off flags; anything else is a usage error."""
    args = SimpleNamespace(encoding="form", bug=None, **dict.fromkeys(FLAGS, False))
    words = iter(argv)
    for word in words:
        name = word.removeprefix("--").replace("-", "_")
        if name in ("encoding", "bug"):
            setattr(args, name, next(words, None))
        elif name in FLAGS:
            setattr(args, name, True)
        else:
            sys.exit(f"pyclient: unknown argument {word!r}")
    if args.encoding not in ENCODINGS or (args.bug is None and "--bug" in argv):
        sys.exit(f"pyclient: --encoding takes one of {', '.join(ENCODINGS)}; --bug a name")
    return args


def build(args: SimpleNamespace) -> tuple[str, str, dict[str, str], bytes]:
    env = os.environ
    fmt = env["REGENKEY_FORMAT"]
    bug = args.bug
    key = env.get("REGENKEY_API_KEY")
    params: list[tuple[str, str]] = []
    if not key:
        names = ("userid", "password") if bug == "param-case" else ("userId", "password")
        params += [(names[0], env["REGENKEY_USER_ID"]), (names[1], env["REGENKEY_PASSWORD"])]
    elif bug == "both-forms":
        params += [("userId", ""), ("password", "")]
    if bug == "wrong-format":  # asks for another format than the one it parses
        fmt = "json" if fmt == "xml" else "xml"
    if args.only_json:
        fmt = "json"
    params.append(("format", fmt))
    headers = {"Cache-Control": "no-cache", "X-Extra": "1"}
    if key and bug != "key-in-query":
        headers["apikey" if args.lower_case else "apiKey"] = key
    if bug == "empty-header" and not key:
        headers["apiKey"] = ""
    query: list[tuple[str, str]] = [("apiKey", key)] if key and bug == "key-in-query" else []
    body = b""
    if args.encoding == "query":
        query += params
    elif args.encoding == "form":
        if bug == "no-encoding":
            body = "&".join(f"{n}={v}" for n, v in params).encode()
        elif bug == "double-encoding":
            body = "&".join(f"{n}={quote_plus(quote(v, safe=''))}" for n, v in params).encode()
        else:
            body = urlencode(params).encode()
        form = "application/x-www-form-urlencoded"
        headers["Content-Type"] = "text/plain" if bug == "wrong-content-type" else form
    elif args.encoding == "multipart":
        import uuid

        boundary = uuid.uuid4().hex
        quote_mark = "" if args.bare_names else '"'
        parts = [
            f"--{boundary}\r\nContent-Disposition: form-data; name={quote_mark}{n}{quote_mark}"
            f"\r\n\r\n{v}\r\n"
            for n, v in params
        ]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    else:
        inner = "".join(f"<{n}>{escape(v)}</{n}>" for n, v in params)
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Account>{inner}</Account>'.encode()
        if args.bom:
            head = "<?xml version='1.0' encoding='utf-8' standalone='yes'?>\r\n<!-- sdk -->"
            body = b"\xef\xbb\xbf" + f"{head}<Account>{inner}</Account>".encode()
        headers["Content-Type"] = "application/xml"
    path = "/SMSApi/rest/regenerateApiKey" if bug == "wrong-path" else PATH
    if query:
        path += "?" + urlencode(query)
    method = "PUT" if bug == "put" else ("GET" if args.encoding == "query" else "POST")
    return method, path, headers, body


def parse(body: str, fmt: str, content_type: str, bug: str | None) -> dict[str, str]:
    if bug == "charset-choke" and ";" in content_type:
        raise ValueError("unexpected Content-Type")
    if fmt == "json":
        if bug == "regex-json":
            return dict(re.findall(r'"(\w+)": "([^"]*)"', body)) or _fail()
        data: dict[str, str] = json.loads(body)
        return data
    if fmt == "xml":
        import xml.etree.ElementTree as ET

        if bug == "xml-needs-declaration" and not body.startswith("<?xml"):
            raise ValueError("no XML declaration")
        root = ET.fromstring(body.encode("utf-8"))
        return {child.tag: child.text or "" for child in root}
    fields = [part.split("=", 1) for part in body.strip().split(" | ")]
    return {name: value for name, value in fields}


def _fail() -> dict[str, str]:
    raise ValueError("cannot parse")


def main() -> int:
    args = arguments(sys.argv[1:])
    if args.leaky:  # prints every secret it was given
        secrets = [os.environ.get(n, "") for n in ("REGENKEY_PASSWORD", "REGENKEY_API_KEY")]
        print(*secrets, file=sys.stderr)
        if os.environ.get("CANARY_FILE"):
            with open(os.environ["CANARY_FILE"], "a", encoding="utf-8") as handle:
                handle.write("\n".join(s for s in secrets if s) + "\n")
    method, path, headers, body = build(args)
    url = urlsplit(os.environ["REGENKEY_BASE_URL"])
    timeout = float(os.environ.get("REGENKEY_CLIENT_TIMEOUT") or 5)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout)
    if args.chunked and body:
        conn.request(method, path, body=iter([body[:5], body[5:]]), headers=headers,
                     encode_chunked=True)  # fmt: skip
    else:
        conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8")
    if args.bug == "throws-on-4xx" and response.status != 200:  # as the vendor's PHP class
        raise RuntimeError(f"HTTP {response.status}")
    if args.raw:
        print(text)
        return 0
    fmt = "json" if args.only_json else os.environ["REGENKEY_FORMAT"]
    record = parse(text, fmt, response.getheader("content-type", ""), args.bug)
    if args.bug == "success-on-error":
        record["status"] = "success"
    if args.bug == "invents-key" and "apiKey" not in record:
        import uuid

        record["apiKey"] = uuid.uuid4().hex
    if args.bug == "statuscode-int":
        record["statusCode"] = int(record["statusCode"])  # type: ignore[assignment]
    if args.leaky:
        record["reason"] += " " + os.environ.get("REGENKEY_PASSWORD", "")
    print(json.dumps(record))
    return 0 if record.get("status") == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
