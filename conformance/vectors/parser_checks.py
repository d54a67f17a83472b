"""The checks of a response parser alone (``check-parser``): RK-PARSE-001..003.

They bind clients (a parser is the part of an SDK that reads the answer), so
they register with the client checks, but only the parser suite runs them
(:data:`PARSER_CHECKS`); the client suite judges whole clients over HTTP.

Each body vector is judged under its ``judged_ids`` (see
:class:`conformance.vectors.suite.Vector`):

* every valid body: the parser reads exactly its record (RK-PARSE-001, MUST);
* every error body, valid or not: the parser reports no success and no key
  (RK-PARSE-002, MUST);
* every invalid body: the parser refuses it, naming exactly its ids if it
  names any (RK-PARSE-003, a SHOULD: a tolerant reader may read what it can).

One fault, one id: a success read from an error body is judged under
RK-PARSE-002 alone, never also as a misread record or an accepted body.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from conformance.judging.registry import check
from conformance.judging.results import Failure, RunResult
from conformance.spec.catalogue import Party
from conformance.vectors.suite import Vector

READS, NO_SUCCESS, REFUSES = "RK-PARSE-001", "RK-PARSE-002", "RK-PARSE-003"
Wrong = tuple[str, str, str]  # (message, expected, actual)


def _show(record: object) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def _reads(vector: Vector, answer: dict[str, Any]) -> Wrong | None:
    assert vector.record is not None
    wanted = vector.record.as_dict()
    if "error" in answer:
        return (
            "the parser refused a valid body",
            _show(wanted),
            f"error: {str(answer['error'])[:200]}",
        )
    if answer["record"] != wanted:
        return "the parser read another record", _show(wanted), _show(answer["record"])
    return None


def _no_success(vector: Vector, answer: dict[str, Any]) -> Wrong | None:
    record = answer.get("record")
    if not isinstance(record, dict):
        return None
    if record.get("status") == "success" or "apiKey" in record:
        return (
            "the parser reported a success or a key for an error body",
            "an error, or an error record without apiKey",
            _show(record),
        )
    return None


def _refuses(vector: Vector, answer: dict[str, Any]) -> Wrong | None:
    violated = sorted(vector.violates)
    if "record" in answer:
        return (
            "the parser accepted an invalid body",
            f"an error ({', '.join(violated)})",
            f"record: {_show(answer['record'])}",
        )
    cited = answer.get("violates")
    if cited is not None and (not isinstance(cited, list) or set(cited) != vector.violates):
        return (
            "the parser refused the body but named other requirement ids",
            ", ".join(violated),
            json.dumps(cited),
        )
    return None


_JUDGES: dict[str, Callable[[Vector, dict[str, Any]], Wrong | None]] = {
    READS: _reads,
    NO_SUCCESS: _no_success,
    REFUSES: _refuses,
}


def judge_answer(vector: Vector, answer: dict[str, Any]) -> dict[str, Wrong | None]:
    """Each id ``vector`` is judged under: None when the answer holds it, else
    what went wrong. A broken RK-PARSE-002 speaks alone for the answer."""
    ids = vector.judged_ids
    if NO_SUCCESS in ids and (wrong := _no_success(vector, answer)) is not None:
        return {NO_SUCCESS: wrong}
    return {rid: _JUDGES[rid](vector, answer) for rid in ids}


@dataclass(frozen=True)
class Answered:
    """A vector, the request line it went out as, and the parser's answer."""

    vector: Vector
    line: str
    answer: dict[str, Any]


@dataclass
class ParserContext:
    answered: list[Answered]
    result: RunResult
    command: str
    wanted: frozenset[str] | None = None

    def verdicts(self, rid: str) -> Iterator[tuple[Answered, Wrong | None]]:
        if self.wanted is not None and rid not in self.wanted:
            return
        for item in self.answered:
            verdict = judge_answer(item.vector, item.answer)
            if rid in verdict:
                yield item, verdict[rid]

    def judge(self, rid: str, check_name: str) -> None:
        for item, wrong in self.verdicts(rid):
            if wrong is None:
                self.result.record_pass(rid)
                continue
            message, expected, actual = wrong
            self.result.record_failure(
                Failure(
                    requirement_id=rid,
                    check=check_name,
                    message=f"[{item.vector.label}] {message}",
                    expected=expected,
                    actual=actual,
                    reproduction=f"printf '%s\\n' {shlex.quote(item.line)} | {self.command}",
                )
            )


C = Party.CLIENT


@check(READS, party=C)
def parser_reads_every_valid_body(ctx: ParserContext) -> None:
    """RK-PARSE-001: every valid body is read as exactly its record."""
    ctx.judge(READS, "parser_reads_every_valid_body")


@check(NO_SUCCESS, party=C)
def parser_never_reads_success_from_error(ctx: ParserContext) -> None:
    """RK-PARSE-002: no error body, valid or not, is read as a success or with a key."""
    ctx.judge(NO_SUCCESS, "parser_never_reads_success_from_error")


@check(REFUSES, party=C)
def parser_refuses_invalid_body(ctx: ParserContext) -> None:
    """RK-PARSE-003: an invalid body is refused (naming exactly its ids, if any)."""
    ctx.judge(REFUSES, "parser_refuses_invalid_body")


PARSER_CHECKS = (
    "parser_reads_every_valid_body",
    "parser_never_reads_success_from_error",
    "parser_refuses_invalid_body",
)
