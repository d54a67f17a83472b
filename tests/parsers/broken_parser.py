"""A parser on the check-parser protocol, correct unless told to break.

    python broken_parser.py [--bug upper-keys|bar-in-reason|wrong-ids|crash|hang|garbage]

It answers with the kit's own validators after bending the body, so that
each --bug breaks exactly one thing (see tests/test_vectors.py).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from conformance import Format, validate_body
from conformance.vector_suite import decode_body

HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32}(?![0-9A-Za-z])")
LONE_BAR = re.compile(r"(?<! )\|(?! )")
STAND_IN = "\u00a6"  # broken bar: what a bar in a reason is read as, then turned back


def bend(text: str, bug: str | None) -> str:
    if bug == "upper-keys":  # reads keys in any letter case
        return HEX_RUN.sub(lambda m: m.group(0).lower(), text)
    if bug == "bar-in-reason":  # only " | " separates; a bar inside a value is text
        return LONE_BAR.sub(STAND_IN, text)
    return text


def answer(line: str, bug: str | None) -> dict[str, object]:
    request = json.loads(line)
    n, fmt = request["id"], Format(request["format"])
    body = decode_body(request)
    try:
        body = bend(body.decode("utf-8"), bug).encode("utf-8")
    except UnicodeDecodeError:
        pass
    verdict = validate_body(body, fmt)
    if verdict.record is None:
        cited = ["RK-JSON-001"] if bug == "wrong-ids" else sorted(verdict.requirement_ids)
        return {"id": n, "error": "invalid", "violates": cited}
    record = {k: v.replace(STAND_IN, "|") for k, v in verdict.record.as_dict().items()}
    return {"id": n, "record": record}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bug")
    bug = parser.parse_args().bug
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
