"""The fast path agrees with the normative validators.

Soundness: whenever :func:`conformance.validation.fastpath.accept` returns a record, the
normative validator of the format (jsonschema, xmlschema, lark) accepts the
same body with the same record. Checked on every spec example, every vector
and generated and mutated documents. The fast path may say "don't know" on a
valid body (it is then only slower), but it must take the common renderings.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import Format, Record, renderings
from conformance.protocol.strategies import formats, loose_records, records
from conformance.spec.artefacts import load_yaml, responses_xsd, spec_bytes, spec_text
from conformance.validation import fastpath
from conformance.validation.bodies import VALIDATORS, validate_body
from conformance.validation.xsd_facets import Unsupported, required_children, translate

ROOT = Path(__file__).resolve().parent.parent
KEY = "03db883b5e19416fbd306413b2fc0eb4"


def assert_sound(body: bytes | str, fmt: Format) -> Record | None:
    """The fast verdict never contradicts the normative one; returns the fast record."""
    fast = fastpath.accept(body, fmt)
    if fast is not None:
        normative = VALIDATORS[fmt](body)
        assert normative.ok, (fmt, body, normative.violations)
        assert normative.record == fast, (fmt, body)
    return fast


def _examples() -> list[tuple[str, Format, bytes]]:
    entries = load_yaml("examples/index.yaml")["examples"]
    return [
        (e["file"], Format(e["format"]), spec_bytes("examples/" + e["file"]))
        for e in entries
        if e["kind"] == "response"
    ]


def _vectors() -> Iterator[tuple[str, Format, bytes]]:
    for path in sorted((ROOT / "conformance" / "vectors").glob("*.json")):
        groups = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(groups, list):
            continue  # the schema of the files, say
        for group in groups:
            for test in group.get("tests", []):
                given_input = test.get("input", {})
                if "format" not in given_input:
                    continue
                if "body" in given_input:
                    body = given_input["body"].encode("utf-8", "surrogatepass")
                elif "body_base64" in given_input:
                    body = base64.b64decode(given_input["body_base64"])
                else:
                    continue
                yield f"{path.name}: {test.get('description')}", Format(given_input["format"]), body


@pytest.mark.parametrize(("name", "fmt", "body"), _examples(), ids=lambda v: str(v)[:60])
def test_every_spec_example(name: str, fmt: Format, body: bytes) -> None:
    fast = assert_sound(body, fmt)
    if name.startswith("valid/"):
        assert fast is not None, f"{name}: the page's own sample misses the fast path"


def test_every_vector() -> None:
    vectors = list(_vectors())
    for name, fmt, body in vectors:
        try:
            assert_sound(body, fmt)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


@given(records(), formats())
def test_every_rendering_takes_the_fast_path(record: Record, fmt: Format) -> None:
    for label, body in renderings(record, fmt):
        fast = assert_sound(body.encode("utf-8"), fmt)
        assert fast == record, label


@given(st.one_of(loose_records(), records()), formats())
# Shrunk counterexamples, kept for good:
@example(Record("error", "901", "a\n"), Format.JSON)  # "$" before a final newline
@example(Record("error", "901", "a\n"), Format.XML)
@example(Record("error", "901", "a\r"), Format.XML)  # XML normalises line ends
@example(Record("error", "901", "a|b"), Format.PLAIN)
@example(Record("error", "901", "\x85"), Format.PLAIN)  # a C1 control
@example(Record("error", "901", "x", KEY), Format.XML)  # a key in an error
@example(Record("error", "901", "x", KEY), Format.PLAIN)
@example(Record("success", "900", "success", KEY + "\n"), Format.JSON)
@example(Record("error", "000", "success", "0"), Format.XML)
@example(Record("error", "901", "]]>"), Format.XML)  # not allowed in character data
@example(Record("error", "901", "a &amp; b"), Format.XML)
def test_loose_records_in_every_rendering(record: Record, fmt: Format) -> None:
    try:
        bodies = list(renderings(record, fmt))
    except (UnicodeEncodeError, ValueError):
        return
    for _, body in bodies:
        assert_sound(body, fmt)
        try:
            assert_sound(body.encode("utf-8"), fmt)
        except UnicodeEncodeError:
            pass


_SNIPPETS = [
    " ", "\n", "\r\n", "\t", "|", " | ", "<", ">", "&", "&amp;", "&#x41;", "]]>", "<!-- c -->",
    "<![CDATA[x]]>", '<!DOCTYPE a [<!ENTITY e "x">]>', "&e;", "<?pi x?>", '"', "'", ",", "{",
    "}", "[", "]", ":", "\\", "\\u0000", "\x00", "\x85", "\ufeff", "\ud800", "A", "0", "900",
    "success", "error", "apiKey=", "<apiKey>", "</apiKey>", ' xmlns="urn:x"', ' a="b"', "NaN",
]  # fmt: skip


@st.composite
def mutated_bodies(draw: st.DrawFn) -> tuple[str, Format]:
    """A valid rendering with a few characters deleted, inserted or replaced."""
    fmt = draw(formats())
    record = draw(records())
    body = draw(st.sampled_from([b for _, b in renderings(record, fmt)]))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "swapcase"]))
        piece = draw(st.one_of(st.sampled_from(_SNIPPETS), st.text(max_size=3)))
        if action == "delete":
            body = body[:at] + body[at + draw(st.integers(1, 4)) :]
        elif action == "insert":
            body = body[:at] + piece + body[at:]
        elif action == "replace":
            body = body[:at] + piece + body[at + len(piece) :]
        else:
            body = body[:at] + body[at : at + 8].swapcase() + body[at + 8 :]
    return body, fmt


@given(mutated_bodies())
@example(("status=error | statusCode=901 | reason=a \n", Format.PLAIN))
@example(("status=error | statusCode=901 | reason=a |", Format.PLAIN))
@example(('{"status": "error", "statusCode": "901", "reason": "a", "status": "x"}', Format.JSON))
@example(('{"status": "success", "apiKey": "' + KEY + '", "statusCode": 900}', Format.JSON))
@example(("\ufeff<errorResponse><reason>a</reason><status>error</status>"
          "<statusCode>901</statusCode></errorResponse>", Format.XML))  # fmt: skip
@example((" <?xml version=\"1.0\"?><errorResponse><reason>a</reason><status>error</status>"
          "<statusCode>901</statusCode></errorResponse>", Format.XML))  # fmt: skip
def test_mutated_bodies(case: tuple[str, Format]) -> None:
    body, fmt = case
    assert_sound(body, fmt)
    try:
        assert_sound(body.encode("utf-8"), fmt)
    except UnicodeEncodeError:
        pass


def test_validate_body_uses_the_verdict_of_either_path() -> None:
    body = f"status=success | apiKey={KEY} | statusCode=900 | reason=success"
    assert validate_body(body, Format.PLAIN).record == Record.success(KEY)
    broken = validate_body(body.upper(), Format.PLAIN)
    assert not broken.ok and broken.violations  # ids come from the normative validator


def test_the_fast_path_says_dont_know_rather_than_guess() -> None:
    assert fastpath.accept(b"\xff", Format.JSON) is None
    assert fastpath.accept("[]", Format.JSON) is None
    assert fastpath.accept("<errorResponse/>", Format.XML) is None
    assert fastpath.accept("", Format.PLAIN) is None


# --- the XSD read without xmlschema (conformance/validation/xsd_facets.py) -------------

_XSD = spec_text("xsd/responses.xsd")


def _xsd_type(root: str, name: str) -> Any:
    return next(c.type for c in responses_xsd().elements[root].type.content if c.name == name)


_TYPED = [  # (root, child, check, xmlschema's own type)
    (root, name, check, _xsd_type(root, name))
    for root in ("generateApiKeySuccessResponse", "errorResponse")
    for name, check in required_children(_XSD, root)
]
_AWKWARD = st.text(st.sampled_from(list("09af AF|.-^$[]{}\\\n\r\t~\x7f\xa0\ud7ff\ue000\ufffd"))
                   | st.characters(codec="utf-8"), max_size=40)  # fmt: skip


def test_the_stdlib_reading_names_the_children_xmlschema_does() -> None:
    for root in ("generateApiKeySuccessResponse", "errorResponse"):
        content = responses_xsd().elements[root].type.content
        wanted = [c.name for c in content if c.min_occurs >= 1 and c.max_occurs == 1]
        assert [name for name, _ in required_children(_XSD, root)] == wanted


_NEAR = ["success", "900", "901", "899", "090", "error", KEY, KEY.upper(), KEY + "0", "a b",
         " a", "a ", "a\n", "|", "success\n"]  # fmt: skip


@pytest.mark.parametrize(("root", "name", "check", "xsd_type"), _TYPED, ids=lambda v: str(v)[:30])
@given(value=st.one_of(_AWKWARD, st.sampled_from(_NEAR)))
def test_each_translated_type_judges_as_xmlschema_does(
    root: str, name: str, check: Any, xsd_type: Any, value: str
) -> None:
    assert check(value) == xsd_type.is_valid(value), (root, name, value)


@pytest.mark.parametrize(
    ("xsd", "python"),
    [
        ("[0-9a-f]{32}", "[0-9a-f]{32}"),
        (".+", "[^\\n\\r]+"),  # XSD's dot matches neither line end
        ("a^b$", "a\\^b\\$"),  # no anchors in XSD: ordinary characters
        ("(ab|c)?", "(?:ab|c)?"),
        ("[-a\\]^]", "[\\-a\\]\\^]"),
        ("[a&&b]", "[a\\&\\&b]"),
        ("\\{x\\}", "\\{x\\}"),
    ],
)
def test_a_pattern_translates_to_what_python_reads_the_same(xsd: str, python: str) -> None:
    assert translate(xsd) == python


@pytest.mark.parametrize("xsd", ["\\d+", "\\p{L}", "[a-z-[aeiou]]", "\\i\\c*", "[z-a]", "a{", "]"])
def test_what_is_not_translated_is_left_to_xmlschema(xsd: str) -> None:
    with pytest.raises(Unsupported):
        translate(xsd)


def test_a_pattern_python_cannot_compile_leaves_its_root_to_xmlschema() -> None:
    xsd = _XSD.replace('<xs:pattern value="[0-9a-f]{32}"/>', '<xs:pattern value="a**"/>')
    with pytest.raises(Unsupported):
        required_children(xsd, "generateApiKeySuccessResponse")


def test_a_type_with_another_facet_leaves_its_root_to_xmlschema() -> None:
    xsd = _XSD.replace('<xs:pattern value="[0-9a-f]{32}"/>', '<xs:length value="32"/>')
    with pytest.raises(Unsupported):
        required_children(xsd, "generateApiKeySuccessResponse")
    assert [n for n, _ in required_children(xsd, "errorResponse")] == [
        "reason", "status", "statusCode"]  # fmt: skip


def test_judging_an_xml_body_does_not_load_xmlschema() -> None:
    import subprocess
    import sys

    body = next(b for _, b in renderings(Record("success", "900", "success", KEY), Format.XML))
    probe = ("import sys\nfrom conformance import Format\n"
             "from conformance.validation.bodies import validate_body\n"
             f"assert validate_body({body!r}, Format.XML).ok\n"
             "print('xmlschema' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "False"
