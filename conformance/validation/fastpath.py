"""Fast acceptors: the record of a body that is surely valid, else None.

:func:`accept` answers "valid, and this is its record" or "don't know" (None);
it never rejects. :func:`conformance.validation.bodies.validate_body` tries it first and
runs the normative validator whenever it says None, so every violation still
comes from the artefacts. Each acceptor is compiled from its artefact, so it
cannot drift from it:

* plain: one regular expression built from the rules and terminals of
  ``grammar/plain.lark`` (each terminal an atomic group, as the lexer matches
  a token without backtracking into it);
* JSON: ``json.loads`` and direct checks compiled from the JSON Schemas
  (``required``, ``additionalProperties: false``, ``type: string``,
  ``const``, ``pattern``, ``minLength``/``maxLength``, ``not``); a schema
  with any other keyword turns the fast path off;
* XML: a regular expression over the document for the elements of
  ``xsd/responses.xsd``, with the XSD's facets on the values (read with the
  standard library, :mod:`conformance.validation.xsd_facets`). A
  body with a DTD, comment, CDATA section, processing instruction, character
  reference, attribute or any markup the expression does not spell out is left
  to the normative validator; so is an optional element that is present.

``tests/test_fastpath.py`` proves on every example and on generated and
mutated documents that an accepted body is valid with the same record.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from functools import cache
from itertools import product
from typing import Any

from conformance.protocol.records import ERROR_STATUS, SUCCESS_STATUS, XML_ROOTS, Format, Record
from conformance.spec.artefacts import error_schema, plain_parser, spec_text, success_schema
from conformance.validation.xsd_facets import Unsupported, required_children

Check = Callable[[str], bool]

# --- plain -----------------------------------------------------------------------

# Terminal name -> wire name, for the terminals whose text is a field's value.
PLAIN_FIELDS = {
    "SUCCESS_STATUS": "status",
    "ERROR_STATUS": "status",
    "API_KEY": "apiKey",
    "SUCCESS_CODE": "statusCode",
    "ERROR_CODE": "statusCode",
    "SUCCESS_REASON": "reason",
    "ERROR_REASON": "reason",
}


def _expansions(rules: dict[str, list[Any]], name: str) -> list[list[Any]]:
    """Every terminal sequence rule ``name`` derives (the grammar is not recursive)."""
    out: list[list[Any]] = []
    for expansion in rules[name]:
        parts = [[[s]] if s.is_term else _expansions(rules, s.name) for s in expansion]
        out += [[t for seq in combo for t in seq] for combo in product(*parts)]
    return out


@cache
def plain_regex() -> tuple[re.Pattern[str], dict[int, dict[str, int]]]:
    """The plain grammar as one regular expression (use with ``fullmatch``): an
    alternative per derivation of ``start``, each in its own group, so that
    ``lastindex`` names the derivation; with, per derivation, the group that
    captures each field (by wire name)."""
    parser = plain_parser()
    rules: dict[str, list[Any]] = {}
    for rule in parser.rules:
        rules.setdefault(rule.origin.name, []).append(rule.expansion)
    terminals = {t.name: t for t in parser.terminals}
    alternatives, fields, group = [], {}, 0
    for sequence in _expansions(rules, parser.options.start[0]):
        group += 1
        outer, parts, captures = group, [], {}
        for symbol in sequence:
            terminal = terminals[symbol.name]
            if terminal.pattern.flags:
                raise ValueError(f"terminal {terminal.name} has flags; no fast path")
            atom = f"(?>{terminal.pattern.to_regexp()})"
            if symbol.name in PLAIN_FIELDS:
                group += 1
                captures[PLAIN_FIELDS[symbol.name]] = group
                atom = f"({atom})"
            parts.append(atom)
        alternatives.append("(" + "".join(parts) + ")")
        fields[outer] = captures
    return re.compile("|".join(alternatives)), fields


def accept_plain(text: str) -> Record | None:
    regex, fields = plain_regex()
    match = regex.fullmatch(text)
    if match is None or match.lastindex is None:
        return None
    groups = fields[match.lastindex]
    key = groups.get("apiKey")
    return Record(
        match.group(groups["status"]),
        match.group(groups["statusCode"]),
        match.group(groups["reason"]),
        match.group(key) if key is not None else None,
    )


# --- JSON ------------------------------------------------------------------------

_STRING_KEYWORDS = {"type", "const", "pattern", "minLength", "maxLength", "not", "description"}
_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description"}


def _string_check(schema: dict[str, Any]) -> Check:
    """A check for one property's schema, or ValueError when it is beyond this subset."""
    unknown = set(schema) - _STRING_KEYWORDS
    if unknown or schema.get("type") != "string":
        raise ValueError(f"no fast path for {sorted(unknown) or schema.get('type')}")
    pattern = re.compile(schema["pattern"]).search if "pattern" in schema else None
    low, high = schema.get("minLength", 0), schema.get("maxLength", sys.maxsize)
    negated = schema.get("not")
    if negated is not None and set(negated) != {"pattern"}:
        raise ValueError("no fast path for this 'not'")
    forbidden = re.compile(negated["pattern"]).search if negated is not None else None

    def check(value: str) -> bool:
        return (
            low <= len(value) <= high
            and (pattern is None or pattern(value) is not None)
            and (forbidden is None or forbidden(value) is None)
        )

    if "const" not in schema:
        return check
    const = schema["const"]
    if not isinstance(const, str) or not check(const):
        return lambda value: False
    # Only the const itself can pass, and it passes every other keyword.
    return const.__eq__


@cache
def _json_checks(is_error: bool) -> tuple[frozenset[str], tuple[tuple[str, Check], ...]] | None:
    """(the members a valid body has, a check per member), or None: no fast path."""
    schema = error_schema() if is_error else success_schema()
    known = _ANNOTATIONS | {"type", "required", "additionalProperties", "properties"}
    if set(schema) - known or schema.get("type") != "object":
        return None
    if schema.get("additionalProperties") is not False:
        return None
    required = frozenset(schema.get("required", ()))
    checks: dict[str, Check] = {}
    for name, prop in schema.get("properties", {}).items():
        if name not in required:
            continue  # an optional member present: leave it to the validator
        try:
            checks[name] = _string_check(prop)
        except ValueError:
            return None
    return (required, tuple(checks.items())) if set(checks) == required else None


def accept_json(text: str) -> Record | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    status = data.get("status")
    if status not in (SUCCESS_STATUS, ERROR_STATUS):
        return None
    compiled = _json_checks(status == ERROR_STATUS)
    if compiled is None or data.keys() != compiled[0]:
        return None
    for name, check in compiled[1]:
        value = data[name]
        if type(value) is not str or not check(value):  # json.loads makes exact str
            return None
    return Record.from_dict(data)


# --- XML -------------------------------------------------------------------------

_WS = "[ \t\r\n]*+"
_DECLARATION = (
    r'<\?xml version="1\.0"(?: encoding="(?:UTF-8|utf-8)")?(?: standalone="(?:yes|no)")?\?>'
)
# Character data: XML characters but CR (XML normalises line ends), with the
# predefined entities only (no character references).
_TEXT = (
    "(?:[^<&\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]++|&(?:amp|lt|gt|quot|apos);)*+"
)
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}
_ENTITY = re.compile("&[a-z]+;")


@cache
def _xml_roots() -> list[tuple[str, re.Pattern[str], list[tuple[str, Check]]]]:
    """For each root the fast path can read: its start tag, the document regex
    and the (child, check) pairs in order; required children only. Read from
    the XSD's text with the standard library (:mod:`.xsd_facets`): a call
    that judges one XML body does not load xmlschema."""
    compiled = []
    xsd = spec_text("xsd/responses.xsd")
    for root in XML_ROOTS.values():
        try:
            children = required_children(xsd, root)
        except Unsupported:
            continue
        body = _WS.join(f"<{name}>({_TEXT})</{name}>" for name, _ in children)
        regex = re.compile(f"(?:{_DECLARATION})?{_WS}<{root}>{_WS}{body}{_WS}</{root}>{_WS}")
        compiled.append((f"<{root}>", regex, children))
    return compiled


def accept_xml(text: str) -> Record | None:
    if "]]>" in text:
        return None  # not allowed in character data: leave it to the parser
    for start_tag, regex, children in _xml_roots():
        if start_tag not in text:
            continue
        match = regex.fullmatch(text)
        if match is None:
            return None
        values = {}
        for (name, check), value in zip(children, match.groups(), strict=True):
            if "&" in value:
                value = _ENTITY.sub(lambda m: _ENTITIES[m.group()], value)
            if not check(value):
                return None
            values[name] = value
        return Record.from_dict(values)
    return None


# --- entry point -----------------------------------------------------------------

_ACCEPTORS: dict[Format, Callable[[str], Record | None]] = {
    Format.PLAIN: accept_plain,
    Format.JSON: accept_json,
    Format.XML: accept_xml,
}


def accept(body: bytes | str, fmt: Format) -> Record | None:
    """The record of ``body`` if it is surely a valid ``fmt`` response, else None."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return _ACCEPTORS[fmt](body)
    except (ValueError, KeyError, TypeError, RecursionError):
        return None  # anything unexpected: let the normative validator judge
