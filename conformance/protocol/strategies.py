"""Hypothesis strategies for the values and documents of this API.

Strategies are plural nouns. They generate what the spec allows (records,
keys, reasons, format spellings) and what clients send in the wild
(passwords that need encoding).
"""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.protocol.records import Format, Record
from conformance.spec.artefacts import load_yaml, spec_bytes

HEX = "0123456789abcdef"

# The printable class of an error reason (RK-ERR-003): no controls, no "|",
# no C1 controls, no surrogates, no U+FFFE/U+FFFF.
_REASON_EDGE = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cs"),
    exclude_characters="|\ufffe\uffff ",
).filter(lambda c: c > " ")
_REASON_INNER = st.one_of(_REASON_EDGE, st.just(" "))


def api_keys() -> st.SearchStrategy[str]:
    """Any key the spec allows: 32 lower-case hex digits (RK-KEY-001)."""
    return st.text(alphabet=HEX, min_size=32, max_size=32)


def uuid4_keys() -> st.SearchStrategy[str]:
    """Keys shaped like ``uuid4().hex``, as the page's samples are (RK-KEY-002)."""
    return st.uuids(version=4).map(lambda u: u.hex)


def error_codes() -> st.SearchStrategy[str]:
    """Three-digit status codes other than "900" (RK-ERR-002)."""
    return st.integers(0, 999).filter(lambda n: n != 900).map(lambda n: f"{n:03d}")


def error_reasons() -> st.SearchStrategy[str]:
    """Reasons the spec allows (RK-ERR-003)."""
    single = _REASON_EDGE
    longer = st.tuples(_REASON_EDGE, st.text(_REASON_INNER, max_size=30), _REASON_EDGE).map("".join)
    return st.one_of(single, longer)


def success_records() -> st.SearchStrategy[Record]:
    return st.one_of(api_keys(), uuid4_keys()).map(Record.success)


def error_records() -> st.SearchStrategy[Record]:
    return st.builds(Record.error, error_codes(), error_reasons())


def records() -> st.SearchStrategy[Record]:
    """Any record the spec allows."""
    return st.one_of(success_records(), error_records())


def formats() -> st.SearchStrategy[Format]:
    return st.sampled_from(list(Format))


def format_spellings() -> st.SearchStrategy[str]:
    """Every letter case of plain, json and xml (RK-FMT-003)."""
    return st.sampled_from(["plain", "json", "xml"]).flatmap(
        lambda word: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in word)).map(
            "".join
        )
    )


def passwords() -> st.SearchStrategy[str]:
    """Passwords, weighted toward characters that need URL-encoding."""
    tricky = st.sampled_from(list(" +&=%#?/;:@!$'\"<>\\|~^`{}[]ü€中😀"))
    ordinary = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
    return st.text(st.one_of(tricky, ordinary), min_size=1, max_size=24)


def loose_records() -> st.SearchStrategy[Record]:
    """Records with values the spec may or may not allow: for probing that
    the artefacts agree with each other on what is valid."""
    chars = st.characters(codec="utf-8", exclude_categories=["Cs"])
    value = st.one_of(st.text(chars, max_size=8), st.sampled_from(["success", "error", "900"]))
    key = st.one_of(st.none(), api_keys(), st.text(chars, max_size=34))
    status = st.sampled_from(["success", "error"]) | value
    code = st.one_of(error_codes(), st.just("900"), value)
    reason = st.one_of(error_reasons(), st.just("success"), value)
    return st.builds(Record, status, code, reason, key)


def from_examples() -> st.SearchStrategy[tuple[str, Format, bytes, frozenset[str]]]:
    """The spec's response examples: (file, format, body, violated ids)."""
    entries = [e for e in load_yaml("examples/index.yaml")["examples"] if e["kind"] == "response"]
    return st.sampled_from(
        [
            (
                e["file"],
                Format(e["format"]),
                spec_bytes("examples/" + e["file"]),
                frozenset(e.get("violates", ())),
            )
            for e in entries
        ]
    )
