"""A parser on the check-parser protocol, correct unless told to break.

    python broken_parser.py [--bug NAME]

NAME is upper-keys, bar-in-reason, extra-members, wrong-ids (lenient: each
breaks only the SHOULD RK-PARSE-003), drops-reason (RK-PARSE-001),
success-on-error (RK-PARSE-002), or crash, hang, garbage, background (it
cannot be judged, or leaves a process behind: see --pidfile).

It answers with the kit's own validators after bending the body, so that
each --bug breaks exactly one thing (see tests/test_vectors.py).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

from conformance import Format, validate_body
from conformance.vectors.suite import decode_body

HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32}(?![0-9A-Za-z])")
LONE_BAR = re.compile(r"(?<! )\|(?! )")
STAND_IN = "\u00a6"  # broken bar: what a bar in a reason is read as, then turned back


KNOWN = ("status", "statusCode", "reason", "apiKey")


def _known_members_only(text: str) -> str:
    """A tolerant reader: members it does not know are dropped, not refused."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    return json.dumps({k: v for k, v in data.items() if k in KNOWN})


def bend(text: str, fmt: Format, bug: str | None) -> str:
    if bug == "upper-keys":  # reads keys in any letter case
        return HEX_RUN.sub(lambda m: m.group(0).lower(), text)
    if bug == "bar-in-reason":  # only " | " separates; a bar inside a value is text
        return LONE_BAR.sub(STAND_IN, text)
    if bug == "extra-members" and fmt is Format.JSON:
        return _known_members_only(text)
    return text


def misread(record: dict[str, str], bug: str | None) -> dict[str, str]:
    if bug == "drops-reason" and record["status"] == "success":  # a valid body misread
        return {k: v for k, v in record.items() if k != "reason"}
    if bug == "success-on-error" and record["status"] != "success":  # an error as a success
        return {**record, "status": "success"}
    return record


def answer(line: str, bug: str | None) -> dict[str, object]:
    request = json.loads(line)
    n, fmt = request["id"], Format(request["format"])
    body = decode_body(request)
    try:
        body = bend(body.decode("utf-8"), fmt, bug).encode("utf-8")
    except UnicodeDecodeError:
        pass
    verdict = validate_body(body, fmt)
    if verdict.record is None:
        cited = ["RK-JSON-001"] if bug == "wrong-ids" else sorted(verdict.requirement_ids)
        return {"id": n, "error": "invalid", "violates": cited}
    record = {k: v.replace(STAND_IN, "|") for k, v in verdict.record.as_dict().items()}
    return {"id": n, "record": misread(record, bug)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bug")
    parser.add_argument("--pidfile", help="with --bug background: where its child's pid goes")
    args = parser.parse_args()
    bug = args.bug
    if bug == "background":  # a child that would outlive the parser, were it not ended
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        with open(args.pidfile, "w", encoding="utf-8") as handle:
            handle.write(f"{child.pid}\n")
    if bug == "crash":
        print("broken_parser: crashed on purpose", file=sys.stderr)
        return 3
    for line in sys.stdin:
        if bug == "hang":
            time.sleep(60)
        if bug == "garbage":
            print("hello", flush=True)
            continue
        print(json.dumps(answer(line, bug)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
