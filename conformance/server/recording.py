"""Record a run's exchanges, redacted, and re-judge them offline.

``regenkey check-server --record DIR`` writes ``DIR/exchanges.jsonl``: each
request and response with passwords replaced by ``[REDACTED]`` and every
key-shaped value by a stable placeholder of the same shape (so a recorded
body stays as valid, or as invalid, as it was). ``regenkey replay DIR``
judges every recorded body against the spec as it is now and reports spec
drift: bodies whose verdict changed since they were recorded.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.judging.redaction import Redactor
from conformance.judging.results import Failure, HttpMessage, RunResult
from conformance.judging.rules import FORMAT_RULES
from conformance.judging.spellings import KEY_SHAPE
from conformance.protocol.records import Format
from conformance.server.exchange import Exchange
from conformance.validation.bodies import validate_body

FILE = "exchanges.jsonl"


class Placeholders:
    """Key-shaped values -> same-shaped stand-ins: lower-case hex stays lower-case
    hex, anything else keeps an upper-case letter, so validity is unchanged."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        return KEY_SHAPE.sub(self._one, text)

    def _one(self, match: re.Match[str]) -> str:
        key = match.group(0)
        if key not in self._seen:
            stand_in = f"{len(self._seen) + 1:032x}".replace("0", "a")
            self._seen[key] = stand_in if key == key.lower() else stand_in.upper()
        return self._seen[key]


class Recorder:
    """Appends one JSON line per exchange to ``directory/exchanges.jsonl``."""

    def __init__(self, directory: Path, redactor: Redactor) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE
        self._redactor = redactor
        self._keys = Placeholders()
        # Never through a symlink planted at the file's name (its target stays
        # untouched: ELOOP), and mode 0600 even for a file that was there before.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)
            raise
        self._file = os.fdopen(fd, "w", encoding="utf-8")

    def _clean(self, data: bytes | str) -> str:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        # Keys become same-shaped placeholders first; then passwords go. The
        # redactor must not mask key shapes (the placeholders are key-shaped).
        return self._redactor(self._keys(text))

    def __call__(self, ex: Exchange) -> None:
        clean = self._clean
        entry = {
            "request": {
                "method": ex.wire.method,
                "path": clean(ex.wire.url.split("://", 1)[-1].partition("/")[2]),
                "headers": [[n, clean(v)] for n, v in ex.wire.headers],
                "body": clean(ex.wire.body[:4096]),
            },
            "response": {
                "status": ex.status,
                "headers": [[n, clean(v)] for n, v in ex.headers.items()],
                "body": clean(ex.body[:65536]),
            },
            "format": ex.fmt.value if ex.fmt else None,
            "violations": sorted(ex.verdict.requirement_ids) if ex.verdict else [],
        }
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class Drift:
    line: int
    then: frozenset[str]
    now: frozenset[str]


def read(directory: Path) -> Iterator[dict[str, Any]]:
    with (directory / FILE).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def replay(directory: Path) -> tuple[RunResult, list[Drift]]:
    """Judge every recorded body against the current spec."""
    result = RunResult("replay", str(directory), 0, False)
    drift: list[Drift] = []
    for n, entry in enumerate(read(directory), 1):
        result.cases += 1
        if entry.get("format") is None:
            continue
        fmt = Format(entry["format"])
        body = entry["response"]["body"]
        verdict = validate_body(body.encode("utf-8"), fmt)
        then = frozenset(entry.get("violations", ()))
        if verdict.requirement_ids != then:
            drift.append(Drift(n, then, verdict.requirement_ids))
        for rid in set(FORMAT_RULES[fmt]) - verdict.requirement_ids:
            result.record_pass(rid)
        for violation in verdict.violations:
            result.record_failure(
                Failure(
                    requirement_id=violation.requirement,
                    check="replay",
                    message=f"recorded exchange {n} breaks the current spec",
                    expected=f"a {fmt.value} body valid against the spec",
                    actual=violation.message,
                    request=HttpMessage(
                        f"{entry['request']['method']} /{entry['request']['path']}",
                        (),
                        entry["request"]["body"],
                    ),
                    response=HttpMessage(f"HTTP {entry['response']['status']}", (), body),
                )
            )
    result.finish()
    return result, drift
