#!/usr/bin/env python3
# regenkey-expect: RK-PARAM-003
# regenkey-fault: the form body is name=value joined by & with the values not URL-encoded
"""A client of the adapter contract, correct but for one fault (no-url-encoding).

Standard library only. It regenerates REGENKEY_ROTATIONS times (default 1),
each time with the key the previous answer returned, and prints the record
of the last answer as one JSON object; any failure exits 2 with the
exception's class name alone on stderr (no secret, no body).
"""

import http.client
import json
import os
import sys
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

PATH = "/SMSApi/rest/regenerateAPIKey"
ENV = os.environ
TIMEOUT = float(ENV.get("REGENKEY_CLIENT_TIMEOUT") or 10)  # the kit's deadline, else 10 s


def request_body(fields: list[tuple[str, str]]) -> tuple[bytes, str]:
    # FAULT: no URL-encoding ("+", "&", "=", "%", a space and non-ASCII go raw)
    text = "&".join(f"{name}={value}" for name, value in fields)
    return text.encode("utf-8"), "application/x-www-form-urlencoded"


def send(key: str | None) -> str:
    fields = [("format", ENV["REGENKEY_FORMAT"])]
    if not key:
        fields = [("userId", ENV["REGENKEY_USER_ID"]), ("password", ENV["REGENKEY_PASSWORD"])]
        fields.append(("format", ENV["REGENKEY_FORMAT"]))
    body, content_type = request_body(fields)
    headers = {"Content-Type": content_type}
    if key:
        headers["apiKey"] = key
    url = urlsplit(ENV["REGENKEY_BASE_URL"])
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=TIMEOUT)
    try:
        conn.request("POST", PATH, body=body, headers=headers)
        return conn.getresponse().read().decode("utf-8")
    finally:
        conn.close()


def parse(text: str, fmt: str) -> dict[str, str]:
    if fmt == "json":
        data: dict[str, str] = json.loads(text)
        return data
    if fmt == "xml":
        return {child.tag: child.text or "" for child in ET.fromstring(text.encode("utf-8"))}
    return dict(field.split("=", 1) for field in text.strip().split(" | "))


def checked(record: dict[str, str]) -> dict[str, str]:
    """An answer that is no response record (an HTML page, a cut body) is an error."""
    if record.get("status") not in ("success", "error") or not record.get("statusCode"):
        raise ValueError("not a response record")
    return record


def main() -> int:
    key = ENV.get("REGENKEY_API_KEY")
    fmt = ENV["REGENKEY_FORMAT"]
    record: dict[str, str] = {}
    for _ in range(int(ENV.get("REGENKEY_ROTATIONS") or "1")):
        record = checked(parse(send(key), fmt))
        if record.get("status") != "success":
            break
        key = record["apiKey"]
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # no traceback: it could show a secret
        print(f"error: {type(exc).__name__}", file=sys.stderr)
        sys.exit(2)
