"""The XML fast path's reading of an XSD, with the standard library alone.

Loading xmlschema and building the responses schema costs about 0.4 s of CPU,
which every XML call of the reference client paid only to learn four simple
types. This module reads the little the fast path needs straight from the XSD
text: a global element whose named complex type is a plain ``sequence`` of
elements, and for each required child its named simple type, a restriction
of ``xs:string`` by ``pattern`` and ``enumeration`` facets alone, with each
pattern translated from XSD's regular expressions to Python's where the two
agree. Anything else raises :class:`Unsupported`, and the fast path leaves
that root to the normative validator (xmlschema): so this can only make the
fast path narrower, never wrong. ``tests/test_fastpath.py`` holds every check
built here to xmlschema's own verdict on the same values.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from conformance.errors import KitError

XS_NAMESPACE = "http://www.w3.org/2001/XMLSchema"
_XS = "{" + XS_NAMESPACE + "}"
Check = Callable[[str], bool]


class Unsupported(KitError, ValueError):
    """A construct this reading does not translate: leave it to xmlschema."""


# XSD's single-character escapes (XML Schema part 2, appendix F.1.1), as the
# character each stands for. Any other escape (\d, \s, \i, \p{..}) is Unsupported.
_SINGLE = {"n": "\n", "r": "\r", "t": "\t"} | {c: c for c in "\\|.-^?*+{}()[]"}
_QUANTITY = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_IN_CLASS = "\\]-^[&~|"  # escaped in a Python class (&&, ~~, || may mean set operations)
#: The attributes a child element may have (``fixed``, ``default`` or
#: ``nillable`` change what is valid: Unsupported).
_CHILD = {"name", "type", "minOccurs", "maxOccurs"}


def _escaped(pattern: str, at: int) -> str:
    if at + 1 >= len(pattern) or pattern[at + 1] not in _SINGLE:
        raise Unsupported(f"escape at {at} in {pattern!r}")
    return _SINGLE[pattern[at + 1]]


def _class_char(pattern: str, at: int) -> tuple[str, int]:
    """One character of a character class and where the next begins."""
    c = pattern[at]
    if c == "\\":
        return _escaped(pattern, at), at + 2
    if c == "[":
        raise Unsupported(f"a nested class or subtraction in {pattern!r}")
    return c, at + 1


def _char_class(pattern: str, at: int) -> tuple[str, int]:
    """The class opening at ``at``, in Python's syntax, and where it ends."""
    out, i = ["["], at + 1
    if pattern.startswith("^", i):
        out.append("^")
        i += 1
    first = True
    while True:
        if i >= len(pattern):
            raise Unsupported(f"an unclosed class in {pattern!r}")
        if pattern[i] == "]" and not first:
            return "".join(out) + "]", i + 1
        if pattern.startswith("-[", i):
            raise Unsupported(f"class subtraction in {pattern!r}")
        low, i = _class_char(pattern, i)
        item = "\\" + low if low in _IN_CLASS else low
        if pattern.startswith("-", i) and not pattern.startswith("-]", i):
            high, i = _class_char(pattern, i + 1)
            if ord(high) < ord(low):
                raise Unsupported(f"an empty range in {pattern!r}")
            item += "-" + ("\\" + high if high in _IN_CLASS else high)
        out.append(item)
        first = False


def translate(pattern: str) -> str:
    """An XSD ``pattern`` as a Python expression for ``fullmatch`` (XSD anchors
    a pattern at both ends; ``.`` matches neither newline nor carriage return;
    ``^`` and ``$`` are ordinary characters), or :class:`Unsupported`."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(re.escape(_escaped(pattern, i)))
            i += 2
        elif c == "[":
            text, i = _char_class(pattern, i)
            out.append(text)
        elif c == "{":
            match = _QUANTITY.match(pattern, i)
            if match is None:
                raise Unsupported(f"a brace at {i} in {pattern!r}")
            out.append(match.group())
            i = match.end()
        else:
            if c in "]}":
                raise Unsupported(f"an unmatched {c!r} in {pattern!r}")
            special = {".": "[^\\n\\r]", "(": "(?:", ")": ")", "|": "|"}
            out.append(special.get(c) or (c if c in "?*+" else re.escape(c)))
            i += 1
    return "".join(out)


def _parsed(xsd: str) -> ET.Element:
    prefixes: dict[str, str] = {}
    root: ET.Element | None = None
    # the kit's own package data, not a target's answer
    for event, item in ET.iterparse(io.StringIO(xsd), events=("start-ns", "start")):  # noqa: S314
        if event == "start-ns":
            prefix, uri = item
            prefixes.setdefault(prefix, uri)
        elif root is None:
            root = item
    if root is None or root.tag != _XS + "schema" or prefixes.get("xs") != XS_NAMESPACE:
        raise Unsupported("not a schema whose xs: prefix is XML Schema")
    if "targetNamespace" in root.attrib:
        raise Unsupported("a target namespace")
    return root


def _global(schema: ET.Element, kind: str, name: str) -> ET.Element:
    found = [e for e in schema if e.tag == _XS + kind and e.get("name") == name]
    if len(found) != 1:
        raise Unsupported(f"no single global {kind} {name!r}")
    return found[0]


def _only_child(element: ET.Element, kind: str) -> ET.Element:
    children = list(element)
    if len(children) != 1 or children[0].tag != _XS + kind:
        raise Unsupported(f"{element.get('name')!r} is not one {kind}")
    return children[0]


def _occurs(element: ET.Element) -> tuple[int, int]:
    low, high = element.get("minOccurs", "1"), element.get("maxOccurs", "1")
    if not low.isdigit() or not high.isdigit():
        raise Unsupported(f"occurrences {low}..{high}")
    return int(low), int(high)


def _type_check(schema: ET.Element, name: str) -> Check:
    restriction = _only_child(_global(schema, "simpleType", name), "restriction")
    if restriction.get("base") != "xs:string":
        raise Unsupported(f"{name!r} does not restrict xs:string")
    patterns: list[re.Pattern[str]] = []
    values: set[str] = set()
    for facet in restriction:
        value = facet.get("value")
        if value is None or facet.tag not in (_XS + "pattern", _XS + "enumeration"):
            raise Unsupported(f"facet {facet.tag} of {name!r}")
        if facet.tag == _XS + "pattern":
            try:
                patterns.append(re.compile(translate(value)))
            except re.error as exc:  # XSD would refuse it too (a ** or an empty group)
                raise Unsupported(f"pattern {value!r} of {name!r}: {exc}") from exc
        else:
            values.add(value)

    def check(value: str) -> bool:
        if values and value not in values:
            return False
        return not patterns or any(p.fullmatch(value) for p in patterns)

    return check


def required_children(xsd: str, root: str) -> list[tuple[str, Check]]:
    """The required children of global element ``root``, in order, each with
    the check of its simple type; :class:`Unsupported` where the element is
    more than a plain sequence of single elements."""
    schema = _parsed(xsd)
    element = _global(schema, "element", root)
    if len(element) or set(element.attrib) != {"name", "type"}:
        raise Unsupported(f"{root!r} is not named by its type alone")
    complex_type = _global(schema, "complexType", element.attrib["type"])
    if set(complex_type.attrib) != {"name"}:
        raise Unsupported(f"the type of {root!r} has attributes")
    sequence = _only_child(complex_type, "sequence")
    if sequence.attrib:
        raise Unsupported(f"the sequence of {root!r} has attributes")
    children = []
    for child in sequence:
        names = set(child.attrib)
        if child.tag != _XS + "element" or len(child) or not {"name", "type"} <= names <= _CHILD:
            raise Unsupported(f"a child of {root!r} that is not a named element")
        low, high = _occurs(child)
        if high != 1:
            raise Unsupported(f"{child.attrib['name']!r} may repeat")
        if low >= 1:
            children.append((child.attrib["name"], _type_check(schema, child.attrib["type"])))
    return children
