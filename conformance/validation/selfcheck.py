"""The spec checks itself: artefacts load, pointers resolve, quotes are real.

``regenkey run`` prints these results before judging a server, and the test
suite asserts each of them, so a broken spec file is caught before it can
mislead a verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
from openapi_spec_validator import validate as validate_openapi

from conformance.protocol.records import Format, render
from conformance.spec.artefacts import (
    account_xsd,
    error_schema,
    load_json,
    load_yaml,
    openapi,
    page_text,
    plain_parser,
    responses_xsd,
    spec_bytes,
    spec_text,
    success_schema,
)
from conformance.spec.catalogue import Level, catalogue
from conformance.validation.bodies import parse_xml, validate_body


@dataclass(frozen=True)
class SelfCheck:
    label: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def resolve_pointer(pointer: str) -> bool:
    """Whether an artefact pointer (``file#fragment``) names something real."""
    file, _, fragment = pointer.partition("#")
    if file.endswith((".yaml", ".json")):
        node: Any = load_yaml(file) if file.endswith(".yaml") else load_json(file)
        for raw in [p for p in fragment.split("/") if p]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return False
        return True
    if file.endswith(".xsd"):
        schema = responses_xsd() if file == "xsd/responses.xsd" else account_xsd()
        return fragment in schema.types or fragment in schema.elements
    if file.endswith(".lark"):
        return re.search(rf"^{re.escape(fragment)}\s*:", spec_text(file), re.M) is not None
    if file.endswith(".abnf"):
        return re.search(rf"^{re.escape(fragment)}\s*=", spec_text(file), re.M) is not None
    return False


def _catalogue() -> Iterator[str]:
    reqs = catalogue()
    seen: set[str] = set()
    for req in reqs:
        if req.id in seen:
            yield f"{req.id} is defined twice"
        seen.add(req.id)
        if req.level is not Level.MAY and not req.encodes:
            yield f"{req.id} ({req.level}) names no artefact or check that encodes it"


def _pointers() -> Iterator[str]:
    for req in catalogue():
        for pointer in req.artefact_pointers:
            if not resolve_pointer(pointer):
                yield f"{req.id}: pointer does not resolve: {pointer}"


def _quotes() -> Iterator[str]:
    page = _normalise(page_text())
    for req in catalogue():
        for fragment in (req.source or "").split("..."):
            if fragment.strip() and _normalise(fragment) not in page:
                yield f"{req.id}: quoted source not on the page: {fragment.strip()!r}"


def _openapi() -> Iterator[str]:
    try:
        validate_openapi(openapi())
    except Exception as exc:  # the validator raises many types; report, never crash
        yield f"openapi.yaml is not valid OpenAPI 3.1: {exc}"
    components = openapi()["components"]["schemas"]
    for name, schema in (("SuccessResponse", success_schema()), ("ErrorResponse", error_schema())):
        bare = {k: v for k, v in schema.items() if not k.startswith("$") and k not in _PROSE}
        mirror = {k: v for k, v in components[name].items() if k not in (*_PROSE, "xml")}
        if json.dumps(bare, sort_keys=True) != json.dumps(mirror, sort_keys=True):
            yield f"openapi.yaml components/schemas/{name} differs from its JSON Schema file"


_PROSE = ("title", "description")


def _schemas() -> Iterator[str]:
    for schema in (success_schema(), error_schema()):
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            yield f"{schema.get('$id')}: {exc.message}"
    responses_xsd()
    account_xsd()
    plain_parser()


def _examples() -> Iterator[str]:
    for entry in load_yaml("examples/index.yaml")["examples"]:
        body = spec_bytes("examples/" + entry["file"])
        fmt = Format(entry["format"])
        if entry["kind"] == "request":
            if not account_xsd().is_valid(parse_xml(body)):
                yield f"{entry['file']}: not valid against xsd/account.xsd"
            continue
        verdict = validate_body(body, fmt)
        expected = frozenset(entry.get("violates", ()))
        if verdict.requirement_ids != expected:
            found = ", ".join(sorted(verdict.requirement_ids)) or "nothing"
            wanted = ", ".join(sorted(expected)) or "valid"
            yield f"{entry['file']}: expected {wanted}, found {found}"
        if entry.get("from_page") and verdict.record is not None:
            if render(verdict.record, fmt).encode() != body:
                yield f"{entry['file']}: the canonical renderer does not reproduce the page's bytes"


SELF_CHECKS: tuple[tuple[str, Callable[[], Iterator[str]]], ...] = (
    ("requirement catalogue: ids unique, every MUST/SHOULD encoded", _catalogue),
    ("artefact pointers in the catalogue resolve", _pointers),
    ("quoted sources appear on the vendor's page", _quotes),
    ("openapi.yaml is valid OpenAPI 3.1 and mirrors the JSON Schemas", _openapi),
    ("JSON Schemas, XSDs and the plain grammar load", _schemas),
    ("examples: valid ones pass, invalid ones fail with exactly their ids", _examples),
)


def run_self_checks() -> list[SelfCheck]:
    return [SelfCheck(label, tuple(func())) for label, func in SELF_CHECKS]
