"""Microseconds per document: ``validate_body`` against the plain library calls.

The corpus is every rendering (``renderings()``) of records drawn from
``conformance.protocol.strategies.records()`` with a fixed seed, as bytes, the way
bodies come off the wire. For each format the same documents go through:

* ``validate_body`` (the kit: fast path, normative validator on a miss);
* the normative validator alone (the kit before the fast path);
* the plain library call, prepared once: ``json.loads`` then
  ``Draft202012Validator.is_valid`` (jsonschema), ``XMLSchema.is_valid``
  (xmlschema), ``Lark.parse`` (lark, LALR).

Invalid documents (the spec's invalid examples) are timed through
``validate_body`` too: they miss the fast path and pay the full validator,
which also names their requirement ids.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jsonschema

from bench.common import summary
from conformance import Format, renderings
from conformance.protocol.strategies import records
from conformance.server.verdicts import draw
from conformance.spec.artefacts import (
    error_schema,
    load_yaml,
    plain_parser,
    responses_xsd,
    spec_bytes,
    success_schema,
)
from conformance.validation.bodies import VALIDATORS, validate_body

LIBRARIES = {Format.JSON: "jsonschema", Format.XML: "xmlschema", Format.PLAIN: "lark"}


def corpus(count: int, seed: int) -> dict[Format, list[bytes]]:
    drawn = draw(records(), count, seed)
    return {
        fmt: [body.encode("utf-8") for record in drawn for _, body in renderings(record, fmt)]
        for fmt in Format
    }


def library_calls() -> dict[Format, Callable[[bytes], bool]]:
    success = jsonschema.Draft202012Validator(success_schema())
    error = jsonschema.Draft202012Validator(error_schema())
    xsd = responses_xsd()
    parser = plain_parser()

    def json_call(body: bytes) -> bool:
        data = json.loads(body)
        return (error if data.get("status") == "error" else success).is_valid(data)

    def xml_call(body: bytes) -> bool:
        return bool(xsd.is_valid(body.decode("utf-8")))

    def plain_call(body: bytes) -> bool:
        parser.parse(body.decode("utf-8"))
        return True

    return {Format.JSON: json_call, Format.XML: xml_call, Format.PLAIN: plain_call}


def _us_per_doc(call: Callable[[bytes], Any], docs: list[bytes], repeats: int) -> dict[str, Any]:
    for body in docs[:20]:
        call(body)  # warm caches (compiled artefacts) outside the timing
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for body in docs:
            call(body)
        runs.append((time.perf_counter() - started) / len(docs) * 1e6)
    return summary(runs, digits=2)


def invalid_examples() -> dict[Format, list[bytes]]:
    out: dict[Format, list[bytes]] = {fmt: [] for fmt in Format}
    for entry in load_yaml("examples/index.yaml")["examples"]:
        if entry["kind"] == "response" and not entry["valid"]:
            out[Format(entry["format"])].append(spec_bytes("examples/" + entry["file"]))
    return out


def compare(count: int, repeats: int, seed: int = 8) -> dict[str, Any]:
    docs = corpus(count, seed)
    calls = library_calls()
    invalid = invalid_examples()
    result: dict[str, Any] = {"records": count, "seed": seed, "target_us": 10.0, "formats": {}}
    for fmt in Format:
        assert all(validate_body(d, fmt).ok for d in docs[fmt]), "the corpus must be valid"

        def kit(body: bytes, fmt: Format = fmt) -> Any:
            return validate_body(body, fmt)

        result["formats"][fmt.value] = {
            "library": LIBRARIES[fmt],
            "documents": len(docs[fmt]),
            "validate_body_us": _us_per_doc(kit, docs[fmt], repeats),
            "normative_only_us": _us_per_doc(VALIDATORS[fmt], docs[fmt], repeats),
            "library_us": _us_per_doc(calls[fmt], docs[fmt], repeats),
            "invalid_examples": len(invalid[fmt]),
            "invalid_validate_body_us": _us_per_doc(kit, invalid[fmt] * 10, repeats),
        }
        row = result["formats"][fmt.value]
        row["speedup_vs_library"] = row["library_us"]["median"] / row["validate_body_us"]["median"]
    return result
