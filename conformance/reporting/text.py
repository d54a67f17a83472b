"""The strings that reach a report or the terminal: redacted, printable, formatted.

:func:`printable` writes every character a terminal, XML 1.0 or HTML must
not get raw (C0 controls but tab and newline, DEL, C1 controls, bidi
controls, lone surrogates, U+FFFE/U+FFFF) as a visible escape (``\\x1b``).
The report writers (:mod:`conformance.reporting.files`) and the terminal
(``regenkey/terminal.py``) pass every target-controlled string through it.
:func:`format_failure` is the one failure formatter: the terminal, JUnit and
the pytest plugin print a failure with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from conformance.judging.results import Failure, HttpMessage, Step
from conformance.spec.catalogue import Level, is_known, requirement

# -- characters no report (and no terminal) may carry raw -----------------------

# C0 controls but tab and newline, DEL, C1 controls, the bidirectional and line
# separator controls, lone surrogates, and the XML non-characters.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e"
    "\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal, XML 1.0 or HTML must not get
    raw written as a visible escape (ESC -> ``\\x1b``); tab and newline stay.
    Idempotent. Every target-controlled string the kit shows passes here."""
    return _UNPRINTABLE.sub(_escape_one, text)


Clean = Callable[[str], str]


def cleaner(redactor: Clean) -> Clean:
    def clean(text: str) -> str:
        return printable(redactor(text))

    return clean


# -- redaction ---------------------------------------------------------------


def redact_message(message: HttpMessage | None, redactor: Clean) -> HttpMessage | None:
    if message is None:
        return None
    return HttpMessage(
        redactor(message.start_line),
        tuple((redactor(n), redactor(v)) for n, v in message.headers),
        redactor(message.body),
    )


def redact_failure(failure: Failure, redactor: Clean) -> Failure:
    return replace(
        failure,
        requirement_id=redactor(failure.requirement_id),
        check=redactor(failure.check),
        message=redactor(failure.message),
        expected=redactor(failure.expected),
        actual=redactor(failure.actual),
        request=redact_message(failure.request, redactor),
        response=redact_message(failure.response, redactor),
        reproduction=redactor(failure.reproduction),
        sequence=tuple(
            Step(redactor(s.command), redactor(s.expected), s.expect_key, s.issues)
            for s in failure.sequence
        ),
    )


# -- the one failure formatter -------------------------------------------------

#: Failures shown per requirement on the terminal and in a failed SDK test; the
#: reports carry them all.
SHOWN_FAILURES = 3


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _title(rid: str) -> str:
    return requirement(rid).title if is_known(rid) else ""


def _indented(text: str, indent: str) -> str:
    """Continuation lines of a multi-line value line up under the first."""
    return text.replace("\n", "\n" + indent)


def format_failure(failure: Failure, level: Level | str) -> str:
    """One failure as h2spec prints it; used by the terminal, JUnit and the pytest plugin."""
    level_word = level.value if isinstance(level, Level) else str(level)
    head = f"{failure.requirement_id} [{level_word}] {_title(failure.requirement_id)}"
    if failure.check:
        head += f"  (check: {failure.check})"
    lines = [head.rstrip(), "  " + _indented(failure.message, "  ")]
    lines.append("  Expected: " + _indented(failure.expected, " " * 12))
    lines.append("    Actual: " + _indented(failure.actual, " " * 12))
    if failure.request is not None:
        lines.append(f"  Request:  {failure.request.start_line}")
    if failure.reproduction:
        seed = f"  (seed {failure.seed})" if failure.seed is not None else ""
        lines.append(f"  Reproduce: {failure.reproduction}{seed}")
    return "\n".join(lines)
