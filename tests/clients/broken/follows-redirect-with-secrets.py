#!/usr/bin/env python3
# regenkey-expect: RK-CLI-007
# regenkey-fault: follows a redirect to any origin, re-sending the apiKey header and form body
"""A client of the adapter contract (stdlib only), correct but for one fault:
it follows 3xx answers wherever they point, with the same method,
headers and body (the password, the apiKey header).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from urllib.parse import urlencode, urlsplit

PATH = "/SMSApi/rest/regenerateAPIKey"
TIMEOUT: float | None = float(os.environ.get("REGENKEY_CLIENT_TIMEOUT") or 4.0)
PLAIN_FIELD = re.compile(r"\s*\|\s*(?=(?:status|apiKey|statusCode|reason)=)")


def send(base: str, method: str, path: str, headers: dict[str, str], body: bytes):
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("location"), response.read()
    finally:
        conn.close()


def parse(text: str, fmt: str) -> dict[str, str]:
    if fmt == "json":
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return {str(k): str(v) for k, v in data.items()}
    if fmt == "xml":
        root = ET.fromstring(text.encode("utf-8"))
        return {child.tag.split("}")[-1]: (child.text or "").strip() for child in root}
    record = {}
    for part in PLAIN_FIELD.split(text.strip()):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError("not a plain record")
        record[name.strip()] = value.strip()
    return record


def main() -> int:
    env = os.environ
    fmt = env["REGENKEY_FORMAT"]
    key = env.get("REGENKEY_API_KEY")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    fields = [("format", fmt)]
    if key:
        headers["apiKey"] = key
    else:
        fields = [("userId", env["REGENKEY_USER_ID"]), ("password", env["REGENKEY_PASSWORD"])]
        fields.append(("format", fmt))
    body = urlencode(fields).encode("utf-8")
    base = env["REGENKEY_BASE_URL"]
    target, path = base, PATH
    try:
        for _hop in range(5):
            status, location, raw = send(target, "POST", path, headers, body)
            if status not in (301, 302, 303, 307, 308) or not location:
                break
            moved = urlsplit(location)  # the fault: any origin, every secret along
            target, path = f"{moved.scheme}://{moved.netloc}", moved.path or "/"
    except OSError as exc:
        print(f"error: {type(exc).__name__}", file=sys.stderr)
        return 1
    try:
        record = parse(raw.decode("utf-8"), fmt)
        if record.get("status") not in ("success", "error"):
            raise ValueError("no status")
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"error: unreadable answer ({type(exc).__name__})", file=sys.stderr)
        return 1
    print(json.dumps(record))

    return 0 if record.get("status") == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
