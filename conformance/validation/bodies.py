"""Judge a response body against the normative artefact of its format.

JSON bodies go through the JSON Schemas, XML bodies through the XSD, plain
bodies through the Lark grammar. Each artefact error is named by the
requirement whose catalogue entry points at the part of the artefact that
failed (see :func:`conformance.spec.catalogue.pointer_index`), so one mapping
serves every format and the catalogue stays the single source of truth.
Which schema applies is read from the body: ``status`` "error" (JSON), the
``errorResponse`` root (XML) or ``status=error`` (plain) select the error
envelope; anything else is judged as a success.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from conformance.protocol.records import ERROR_STATUS, SUCCESS_STATUS, Format, Record
from conformance.spec.artefacts import error_schema, plain_parser, responses_xsd, success_schema
from conformance.spec.catalogue import pointer_index
from conformance.validation import fastpath


@dataclass(frozen=True)
class Violation:
    """One broken requirement, with what was found."""

    requirement: str
    message: str

    def __str__(self) -> str:
        return f"{self.requirement}: {self.message}"


@dataclass(frozen=True)
class BodyVerdict:
    """What a body is: its record when valid, else the violations."""

    format: Format
    record: Record | None
    violations: tuple[Violation, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def requirement_ids(self) -> frozenset[str]:
        return frozenset(v.requirement for v in self.violations)


def _looks_like_error(status: object, has_key: bool) -> bool:
    """Which envelope a body is judged as: an error says so, or has no key
    and does not claim success."""
    return status == ERROR_STATUS or (not has_key and status != SUCCESS_STATUS)


def _decode(body: bytes | str, requirement: str) -> tuple[str | None, Violation | None]:
    if isinstance(body, str):
        return body, None
    try:
        return body.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, Violation(
            requirement, f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})"
        )


def _lookup(artefact: str, candidates: Iterable[str], fallback: str) -> str:
    index = pointer_index()
    for fragment in candidates:
        rid = index.get(f"{artefact}#{fragment}")
        if rid is not None:
            return rid
    return fallback


# --- JSON -----------------------------------------------------------------------


def _json_pointer_candidates(path: Iterable[Any]) -> list[str]:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return ["/" + "/".join(parts[:n]) if n else "/" for n in range(len(parts), -1, -1)]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: The deepest nesting a body may have (a valid response is 1 deep in JSON, 2 in
#: XML). Deeper is judged not well-formed (RK-JSON-003, RK-XML-003): RFC 8259
#: section 9 lets a parser bound nesting, and no parser recursion is ever risked.
MAX_DEPTH = 64

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than ``limit``: a scan of the
    brackets outside strings, before any parser recurses into them."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def _xml_too_deep(root: Element, limit: int = MAX_DEPTH) -> bool:
    """Whether elements nest deeper than ``limit`` (the root is depth 1); no recursion."""
    level = [root]
    for _ in range(limit):
        level = [child for element in level for child in element]
        if not level:
            return False
    return True


def validate_json(body: bytes | str) -> BodyVerdict:
    text, bad = _decode(body, "RK-JSON-003")
    if text is None:
        return BodyVerdict(Format.JSON, None, (bad,) if bad else ())
    if json_too_deep(text):
        message = f"not well-formed JSON: nested deeper than {MAX_DEPTH} levels"
        return BodyVerdict(Format.JSON, None, (Violation("RK-JSON-003", message),))
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        return BodyVerdict(
            Format.JSON, None, (Violation("RK-JSON-003", f"not well-formed JSON: {exc}"),)
        )
    is_error = isinstance(data, dict) and _looks_like_error(data.get("status"), "apiKey" in data)
    name, schema = (
        ("schemas/error.schema.json", error_schema())
        if is_error
        else ("schemas/success.schema.json", success_schema())
    )
    import jsonschema  # on first use: the fast path answers ordinary bodies without it

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_schema_path]
    )
    # A value of the wrong type breaks its other keywords too; report the type.
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    violations = []
    for error in errors:
        if tuple(error.absolute_path) in mistyped and error.validator != "type":
            continue
        rid = _lookup(name, _json_pointer_candidates(error.absolute_schema_path), "RK-JSON-001")
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        violations.append(Violation(rid, f"at {where}: {error.message}"))
    if violations:
        return BodyVerdict(Format.JSON, None, tuple(violations))
    return BodyVerdict(Format.JSON, Record.from_dict(data))


# --- XML ------------------------------------------------------------------------


def parse_xml(body: bytes | str) -> Element:
    """Parse XML with DTDs, entities and external references refused."""
    root: Element = SafeET.fromstring(
        body, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    return root


def _xsd_names(component: Any) -> list[str]:
    names = []
    while component is not None:
        # An element declaration speaks for its type first: an error on
        # <apiKey> inside an error is about NoApiKeyType, not the sequence.
        type_name = getattr(getattr(component, "type", None), "local_name", None)
        name = getattr(component, "local_name", None) or getattr(component, "name", None)
        names += [n for n in (type_name, name) if isinstance(n, str)]
        component = getattr(component, "parent", None)
    return names


def validate_xml(body: bytes | str) -> BodyVerdict:
    # The parser reads the encoding declaration itself (UTF-8 by default) and
    # refuses bytes that break it.
    try:
        root = parse_xml(body)
    except (ParseError, defusedxml.DefusedXmlException, ValueError, RecursionError) as exc:
        message = f"not well-formed XML, or it has a DTD or entities: {exc}"
        return BodyVerdict(Format.XML, None, (Violation("RK-XML-003", message),))
    if _xml_too_deep(root):
        message = f"not well-formed XML: elements nested deeper than {MAX_DEPTH} levels"
        return BodyVerdict(Format.XML, None, (Violation("RK-XML-003", message),))
    violations: list[Violation] = []
    seen: set[tuple[str, str]] = set()
    for error in responses_xsd().iter_errors(root):
        rid = _lookup("xsd/responses.xsd", _xsd_names(error.validator), "RK-XML-001")
        where = error.path or root.tag
        if (rid, where) not in seen:  # one violation per requirement and element
            seen.add((rid, where))
            violations.append(Violation(rid, f"at {where}: {error.reason}"))
    if violations:
        return BodyVerdict(Format.XML, None, tuple(violations))
    values = {child.tag: child.text or "" for child in root}
    return BodyVerdict(Format.XML, Record.from_dict(values))


# --- plain ----------------------------------------------------------------------

# Terminals whose value is free text: an unexpected character right after one
# of them breaks that value's rule, not the field layout.
_FREE_TEXT = {"ERROR_REASON"}
_PLAIN_FIELDS = fastpath.PLAIN_FIELDS  # terminal -> wire name, one table for both paths


def _plain_requirement(exc: UnexpectedInput, text: str) -> str:
    expected: set[str] = set()
    if isinstance(exc, UnexpectedCharacters):
        expected = set(exc.allowed or ())
        history = exc.token_history or []
        if expected <= {"TRAILER", "$END"} and history and history[-1].type in _FREE_TEXT:
            expected = {history[-1].type}
    elif isinstance(exc, UnexpectedToken | UnexpectedEOF):
        expected = set(exc.expected or ())
    if {"SUCCESS_STATUS", "ERROR_STATUS"} <= expected:
        as_error = _looks_like_error(None, " | apiKey=" in text)
        expected.discard("SUCCESS_STATUS" if as_error else "ERROR_STATUS")
    ids = {_lookup("grammar/plain.lark", [name], "") for name in expected} - {""}
    return ids.pop() if len(ids) == 1 else "RK-PLAIN-001"


_READABLE = {
    "SUCCESS_STATUS": '"success"',
    "ERROR_STATUS": '"error"',
    "API_KEY": "32 lower-case hex digits",
    "SUCCESS_CODE": '"900"',
    "ERROR_CODE": 'three digits other than "900"',
    "SUCCESS_REASON": '"success"',
    "ERROR_REASON": 'one line of printable text without "|"',
    "SEP": '" | "',
    "TRAILER": "the end of the body",
    "$END": "the end of the body",
}


def _expected_names(exc: UnexpectedInput) -> str:
    names = getattr(exc, "allowed", None) or getattr(exc, "expected", None) or ()
    shown = sorted({_READABLE.get(n, "a field name") for n in names})
    return " or ".join(shown) or "nothing"


def _found(text: str, exc: UnexpectedInput) -> str:
    """What stood where the grammar failed: up to the end of that field, so
    that a value is quoted whole (a redactor can only hide a secret it sees
    whole), at most 120 characters."""
    if isinstance(exc, UnexpectedEOF) or exc.pos_in_stream is None:
        return "the end of the body"
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        return "the end of the body"
    start = text.rfind(" | ", 0, exc.pos_in_stream + 1)
    start = 0 if start < 0 else start + 3
    end = text.find(" | ", exc.pos_in_stream + 1)
    return repr(text[start : end if end >= 0 else len(text)][:120])


def validate_plain(body: bytes | str) -> BodyVerdict:
    text, bad = _decode(body, "RK-PLAIN-001")
    if text is None:
        return BodyVerdict(Format.PLAIN, None, (bad,) if bad else ())
    try:
        tree = plain_parser().parse(text)
    except UnexpectedInput as exc:
        rid = _plain_requirement(exc, text)
        message = (
            f"does not match grammar/plain.lark at column {exc.column}: "
            f"found {_found(text, exc)} where {_expected_names(exc)} was expected"
        )
        return BodyVerdict(Format.PLAIN, None, (Violation(rid, message),))
    branch = tree.children[0]
    assert isinstance(branch, Tree)
    values = {
        _PLAIN_FIELDS[tok.type]: str(tok)
        for tok in branch.children
        if isinstance(tok, Token) and tok.type in _PLAIN_FIELDS
    }
    return BodyVerdict(Format.PLAIN, Record.from_dict(values))


VALIDATORS = {Format.JSON: validate_json, Format.XML: validate_xml, Format.PLAIN: validate_plain}


def validate_body(body: bytes | str, fmt: Format) -> BodyVerdict:
    """Judge ``body`` as a response in format ``fmt``.

    The fast path (:mod:`conformance.validation.fastpath`) accepts bodies it is sure are
    valid; everything else goes to the normative validator of the format.
    """
    record = fastpath.accept(body, fmt)
    if record is not None:
        return BodyVerdict(fmt, record)
    return VALIDATORS[fmt](body)
