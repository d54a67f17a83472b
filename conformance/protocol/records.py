"""The response record and its renderings in the three formats.

A :class:`Record` is what every response carries: ``status``, ``statusCode``,
``reason`` and, on success, ``apiKey``. :func:`render` writes it the way the
page's samples do (byte for byte for the samples); :func:`renderings` yields
the common variants the spec allows (for property tests and the fast path),
:func:`unusual_renderings` the ones naive parsers trip on, and
:func:`every_rendering` both (what the client suite serves).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from xml.sax.saxutils import escape


class Format(StrEnum):
    PLAIN = "plain"
    JSON = "json"
    XML = "xml"

    @classmethod
    def parse(cls, value: str | None) -> Format | None:
        """The format a ``format`` parameter asks for (case-insensitive).

        Missing or empty means the default, plain; an unknown value is None.
        """
        if value is None or value == "":
            return cls.PLAIN
        try:
            return cls(value.lower())
        except ValueError:
            return None


MEDIA_TYPES: dict[Format, str] = {
    Format.PLAIN: "text/plain",
    Format.JSON: "application/json",
    Format.XML: "application/xml",
}

ENDPOINT_PATH = "/SMSApi/rest/regenerateAPIKey"

SUCCESS_STATUS = "success"
SUCCESS_CODE = "900"
SUCCESS_REASON = "success"
ERROR_STATUS = "error"

XML_ROOTS = {True: "generateApiKeySuccessResponse", False: "errorResponse"}
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


@dataclass(frozen=True)
class Record:
    """One response, independent of its format."""

    status: str
    status_code: str
    reason: str
    api_key: str | None = None

    @classmethod
    def success(cls, api_key: str) -> Record:
        return cls(SUCCESS_STATUS, SUCCESS_CODE, SUCCESS_REASON, api_key)

    @classmethod
    def error(cls, status_code: str, reason: str) -> Record:
        return cls(ERROR_STATUS, status_code, reason, None)

    @property
    def is_success(self) -> bool:
        return self.status == SUCCESS_STATUS

    def fields(self) -> list[tuple[str, str]]:
        """Wire names and values in the page's plain/JSON order."""
        out = [("status", self.status)]
        if self.api_key is not None:
            out.append(("apiKey", self.api_key))
        out += [("statusCode", self.status_code), ("reason", self.reason)]
        return out

    def as_dict(self) -> dict[str, str]:
        """The record as the adapter contract prints it (wire names)."""
        return dict(self.fields())

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Record:
        return cls(data["status"], data["statusCode"], data["reason"], data.get("apiKey"))


def xml_children(record: Record) -> list[tuple[str, str]]:
    """The XML children in the sample's (alphabetical) order."""
    return sorted(record.fields())


def render_json(
    record: Record,
    *,
    indent: int | None = 4,
    order: list[str] | None = None,
    ascii_only: bool = False,
) -> str:
    data = record.as_dict()
    if order is not None:
        data = {name: data[name] for name in order}
    separators = (",", ": ") if indent is not None else (",", ":")
    return json.dumps(data, indent=indent, ensure_ascii=ascii_only, separators=separators)


def render_xml(record: Record, *, indent: str | None = "    ", declaration: bool = True) -> str:
    root = XML_ROOTS[record.is_success]
    sep = "\n" if indent is not None else ""
    pad = indent or ""
    children = sep.join(
        f"{pad}<{name}>{escape(value)}</{name}>" for name, value in xml_children(record)
    )
    head = XML_DECLARATION + "\n" if declaration else ""
    return f"{head}<{root}>{sep}{children}{sep}</{root}>"


def render_json_escaped(record: Record) -> str:
    """JSON whose keys and values are partly ``\\u``-escaped, every non-ASCII
    character too (surrogate pairs beyond the BMP): the same document to any
    JSON reader (RFC 8259, section 7)."""

    def string(text: str) -> str:
        out = []
        for i, c in enumerate(text):
            if ord(c) > 0xFFFF:
                out.append(json.dumps(c)[1:-1])  # a surrogate pair
            elif ord(c) > 0x7E or i % 2 == 0:
                out.append(f"\\u{ord(c):04x}")
            else:
                out.append(json.dumps(c)[1:-1])
        return '"' + "".join(out) + '"'

    members = ",".join(f"{string(name)}:{string(value)}" for name, value in record.fields())
    return "{" + members + "}"


def render_json_spaced(record: Record) -> str:
    """JSON with white space (space, tab, CR, LF) before and after every ``:``
    and ``,``, members rotated by one (any order is the same object)."""
    fields = record.fields()
    fields = fields[1:] + fields[:1]
    members = " ,\r\n\t".join(
        f"{json.dumps(name, ensure_ascii=False)} \t:  {json.dumps(value, ensure_ascii=False)}"
        for name, value in fields
    )
    return "{\n\t" + members + "\n}\n"


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _references(value: str) -> str:
    """Every markup character and non-ASCII as a character or entity
    reference, and the first character as a character reference."""
    named = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
    out = []
    for i, c in enumerate(value):
        if i == 0 or ord(c) > 0x7E:
            out.append(f"&#x{ord(c):X};" if i % 2 else f"&#{ord(c)};")
        else:
            out.append(named.get(c, c))
    return "".join(out)


def render_xml_markup(record: Record, *, style: str) -> str:
    """XML whose text is written another legal way: ``cdata`` (CDATA
    sections), ``references`` (character and entity references) or
    ``comments`` (comments before, inside and after the root; no declaration)."""
    root = XML_ROOTS[record.is_success]
    if style == "cdata":
        children = "\n  ".join(f"<{n}>{_cdata(v)}</{n}>" for n, v in xml_children(record))
        return f"{XML_DECLARATION}\n<{root}>\n  {children}\n</{root}>\n"
    if style == "references":
        children = "".join(f"<{n}>{_references(v)}</{n}>" for n, v in xml_children(record))
        return f"<?xml version='1.0' encoding='UTF-8'?><{root}>{children}</{root}>"
    children = "<!-- - -->".join(f"<{n}>{escape(v)}</{n}>" for n, v in xml_children(record))
    return f"<!-- {root} -->\n<{root}><!--first-->{children}<!--last--></{root}>\n<!--end-->"


def render_plain(record: Record, *, trailer: str = "") -> str:
    return " | ".join(f"{name}={value}" for name, value in record.fields()) + trailer


def render(record: Record, fmt: Format) -> str:
    """The canonical rendering: the page's samples, byte for byte."""
    if fmt is Format.JSON:
        return render_json(record)
    if fmt is Format.XML:
        return render_xml(record)
    return render_plain(record)


def renderings(record: Record, fmt: Format) -> Iterator[tuple[str, str]]:
    """Every variant the spec allows for one record: ``(label, body)`` pairs.

    These are the differences RK-CLI-003 says a client must accept.
    """
    if fmt is Format.JSON:
        names = [name for name, _ in record.fields()]
        yield "json-indented", render_json(record)
        yield "json-compact", render_json(record, indent=None)
        yield "json-reversed-order", render_json(record, indent=2, order=names[::-1])
        yield "json-ascii-escaped", render_json(record, indent=None, ascii_only=True)
    elif fmt is Format.XML:
        yield "xml-indented", render_xml(record)
        yield "xml-compact", render_xml(record, indent=None)
        yield "xml-no-declaration", render_xml(record, declaration=False)
        yield "xml-tabs-no-declaration", render_xml(record, indent="\t", declaration=False)
    else:
        yield "plain", render_plain(record)
        yield "plain-newline", render_plain(record, trailer="\n")
        yield "plain-crlf", render_plain(record, trailer="\r\n")


def unusual_renderings(record: Record, fmt: Format) -> Iterator[tuple[str, str]]:
    """More variants the spec allows, the ones naive parsers trip on: ``\\u``
    escapes in JSON names and values and white space around ``:``; CDATA,
    character and entity references and comments in XML; spaces, tabs and
    CRLF after a plain body. A client must read them (RK-CLI-003); the fast
    path need not take them (it may answer "don't know")."""
    if fmt is Format.JSON:
        yield "json-u-escaped-keys", render_json_escaped(record)
        yield "json-space-before-colon", render_json_spaced(record)
    elif fmt is Format.XML:
        yield "xml-cdata", render_xml_markup(record, style="cdata")
        yield "xml-references", render_xml_markup(record, style="references")
        yield "xml-comments", render_xml_markup(record, style="comments")
    else:
        yield "plain-trailing-spaces", render_plain(record, trailer="   ")
        yield "plain-tabs-crlf", render_plain(record, trailer="\t \t\r\n")


def every_rendering(record: Record, fmt: Format) -> Iterator[tuple[str, str]]:
    """:func:`renderings`, then :func:`unusual_renderings`: what the client suite serves."""
    yield from renderings(record, fmt)
    yield from unusual_renderings(record, fmt)
