"""The parser suite: every body vector through an SDK's response parser, no HTTP.

The parser is a command, started once through the shell, that speaks a line
protocol on stdin and stdout (see ``conformance/vectors/VECTORS.md``):

* request, one JSON object a line (ASCII, ``\\n``-terminated):
  ``{"id": 7, "format": "json", "body": "..."}``; bytes that are not UTF-8
  come as ``"body_base64"`` instead of ``"body"``;
* answer, one JSON object a line (UTF-8), in order:
  ``{"id": 7, "record": {"status": ..., "statusCode": ..., "reason": ...,
  "apiKey": ...}}`` (apiKey only when the body has one) or
  ``{"id": 7, "error": "why"}``, optionally with ``"violates": [ids]``.

The answers are judged by the parser checks
(:mod:`conformance.vectors.parser_checks`): a valid body must be read
as exactly its record (RK-PARSE-001), an error body never as a success
(RK-PARSE-002), and an invalid body should be refused, naming exactly the
violated ids if the parser names any (RK-PARSE-003, a SHOULD). A command
that cannot start, dies, hangs, or answers out of protocol is an ERROR,
never counted against the parser.
"""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from conformance.errors import ParserBroke
from conformance.judging.registry import registered_checks
from conformance.judging.results import RunResult
from conformance.spec.catalogue import Party
from conformance.transport import process as commands
from conformance.vectors.parser_checks import (
    PARSER_CHECKS,
    Answered,
    ParserContext,
    judge_answer,
)
from conformance.vectors.suite import Vector, body_vectors

Progress = Callable[[Vector, str], None]


@dataclass(frozen=True, kw_only=True)
class ParserSuiteConfig:
    command: str
    strict: bool = False
    timeout: float = 10.0  # seconds to wait for each answer
    requirements: frozenset[str] | None = None


def protocol_line(n: int, vector: Vector) -> str:
    """The request line for vector number ``n``."""
    return json.dumps({"id": n, **vector.protocol_input()}, ensure_ascii=True)


class _Parser:
    """The running command: one request line in, one answer line out."""

    def __init__(self, command: str) -> None:
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        try:
            self._proc = commands.start(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
            )
        except OSError as exc:
            self._stderr.close()
            raise ParserBroke(f"the command cannot start: {exc.strerror}") from None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in iter(self._proc.stdout.readline, b""):
            if line.strip():
                self._lines.put(line)
        self._lines.put(None)

    def _gone(self, what: str) -> ParserBroke:
        with suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=2)
        code = self._proc.returncode
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:]
        exited = f"exited with code {code}" if code is not None else "closed its output"
        note = f": {tail[0][:200]}" if tail else ""
        return ParserBroke(f"the command {exited} {what}{note}")

    def ask(self, line: str, timeout: float) -> str:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(line.encode("ascii") + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._gone("before reading every request") from None
        try:
            answer = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise ParserBroke(f"no answer within {timeout:g} s (the command hangs)") from None
        if answer is None:
            raise self._gone("before answering")
        return answer.decode("utf-8", "replace")

    def close(self, grace: float) -> None:
        with suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        with suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=grace)
        commands.end_group(self._proc)  # the shell and whatever it left running
        self._stderr.close()


def _read_answer(text: str, n: int) -> dict[str, Any]:
    try:
        answer = json.loads(text)
    except ValueError:
        raise ParserBroke(f"answer {n} is not JSON: {text.strip()[:120]!r}") from None
    if not isinstance(answer, dict) or answer.get("id") != n:
        raise ParserBroke(f'answer {n} is not an object with "id": {n}: {text.strip()[:120]!r}')
    if ("record" in answer) == ("error" in answer):
        raise ParserBroke(f'answer {n} has neither or both of "record" and "error"')
    return answer


def selected_vectors(requirements: frozenset[str] | None) -> list[Vector]:
    vectors = body_vectors()
    if requirements is None:
        return vectors
    return [v for v in vectors if requirements & set(v.judged_ids)]


def _ids(vector: Vector, requirements: frozenset[str] | None) -> list[str]:
    return [r for r in vector.judged_ids if requirements is None or r in requirements]


def _record_errors(
    result: RunResult, vectors: list[Vector], message: str, wanted: frozenset[str] | None
) -> None:
    for vector in vectors:
        for rid in _ids(vector, wanted):
            errors = result.result_for(rid).errors
            if message not in errors:
                errors.append(message)


def run_parser_suite(config: ParserSuiteConfig, progress: Progress | None = None) -> RunResult:
    """Judge the parser that ``config.command`` runs against every body vector."""
    result = RunResult("parser", config.command, 0, config.strict)
    result.started = datetime.now(UTC)
    started = time.perf_counter()
    wanted = config.requirements
    vectors = selected_vectors(wanted)
    for vector in vectors:
        for rid in _ids(vector, wanted):
            result.result_for(rid)
    ctx = ParserContext([], result, config.command, wanted)
    parser: _Parser | None = None
    grace = 2.0  # seconds a parser may take to exit once its input ends
    try:
        parser = _Parser(config.command)
        for n, vector in enumerate(vectors, start=1):
            line = protocol_line(n, vector)
            try:
                answer = _read_answer(parser.ask(line, config.timeout), n)
            except ParserBroke as exc:
                _record_errors(result, vectors[n - 1 :], f"{vector.label}: {exc}", wanted)
                grace = 0.0
                break
            result.cases += 1
            ctx.answered.append(Answered(vector, line, answer))
            if progress is not None:
                verdicts = judge_answer(vector, answer).values()
                progress(vector, "pass" if all(v is None for v in verdicts) else "fail")
    except ParserBroke as exc:
        _record_errors(result, vectors, str(exc), wanted)
    finally:
        if parser is not None:
            parser.close(grace)
    for spec in registered_checks(Party.CLIENT):
        if spec.name in PARSER_CHECKS:
            spec.func(ctx)
    result.duration_s = time.perf_counter() - started
    result.finish()
    return result
