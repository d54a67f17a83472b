"""The language-neutral test vectors: ``conformance/vectors/*.json``.

Each file is a list of groups ``{description, requirements, tests}``; each
test names its requirement ids, its input (a response body and its format, a
raw HTTP request a client sent, or a transcript of exchanges) and what is
expected of it (the record the body carries, or the ids it violates). ``vectors.schema.json`` is the
schema of a file and ``VECTORS.md`` the reader's guide. This module loads
them and gives the reference judgement of a request vector; the reference
judgement of a body vector is :func:`conformance.validation.bodies.validate_body`, and
of a transcript :func:`conformance.vectors.transcripts.judge_transcript`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from conformance.protocol.records import Format, Record

if TYPE_CHECKING:  # the client suite is imported only to judge request vectors
    from conformance.client.app import RecordedRequest

SCHEMA_FILE = "vectors.schema.json"


@dataclass(frozen=True)
class Vector:
    """One test of a vector file, decoded."""

    file: str
    group: str
    description: str
    requirements: tuple[str, ...]
    valid: bool
    violates: frozenset[str] = frozenset()
    format: Format | None = None
    body: bytes | None = None
    record: Record | None = None
    raw_request: bytes | None = None
    given: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    transcript: Mapping[str, Any] | None = None  # the input of a transcript vector

    @property
    def is_body(self) -> bool:
        """A response body for a parser (else a request a client sent, or a transcript)."""
        return self.body is not None

    @property
    def is_error_body(self) -> bool:
        """A valid error, or an invalid body that breaks an error rule (RK-ERR-*)
        or says "error" and nowhere "success" (in any letter case)."""
        if self.valid:
            return self.record is not None and not self.record.is_success
        if any(rid.startswith("RK-ERR-") for rid in self.violates):
            return True
        text = (self.body or b"").decode("utf-8", "replace").lower()
        return "error" in text and "success" not in text

    @property
    def judged_ids(self) -> tuple[str, ...]:
        """The ids a parser's answer to this body is judged under (RK-PARSE-*):
        RK-PARSE-001 for a valid body, RK-PARSE-003 for an invalid one, and
        RK-PARSE-002 beside either for an error body. The body's own ids
        (``requirements``, ``violates``) are what a validator is judged under."""
        first = "RK-PARSE-001" if self.valid else "RK-PARSE-003"
        return (first, "RK-PARSE-002") if self.is_error_body else (first,)

    @property
    def label(self) -> str:
        return f"{self.file}: {self.description}"

    def protocol_input(self) -> dict[str, str]:
        """``format`` and ``body`` (or ``body_base64``), as the parser protocol sends them."""
        assert self.body is not None and self.format is not None
        try:
            return {"format": self.format.value, "body": self.body.decode("utf-8")}
        except UnicodeDecodeError:
            encoded = base64.b64encode(self.body).decode()
            return {"format": self.format.value, "body_base64": encoded}


def vectors_dir() -> Traversable:
    return files("conformance.vectors")


def vector_file_names() -> list[str]:
    """Every vector file, in name order (the schema is not one)."""
    names = [p.name for p in vectors_dir().iterdir() if p.name.endswith(".json")]
    return sorted(n for n in names if n != SCHEMA_FILE)


@cache
def vectors_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((vectors_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
    return schema


def vector_document(name: str) -> list[dict[str, Any]]:
    """One vector file as JSON."""
    document: list[dict[str, Any]] = json.loads((vectors_dir() / name).read_text(encoding="utf-8"))
    return document


def decode_body(data: Mapping[str, Any]) -> bytes:
    """The bytes of a protocol or vector input: ``body`` as UTF-8, or ``body_base64``."""
    if "body_base64" in data:
        return base64.b64decode(str(data["body_base64"]), validate=True)
    return str(data["body"]).encode("utf-8")


def _vector(name: str, group: str, test: Mapping[str, Any]) -> Vector:
    given, expect = test["input"], test["expect"]
    common: dict[str, Any] = {
        "file": name,
        "group": group,
        "description": test["description"],
        "requirements": tuple(test["requirements"]),
        "valid": bool(expect["valid"]),
        "violates": frozenset(expect.get("violates", ())),
    }
    if "exchanges" in given:
        return Vector(**common, transcript=given)
    if "raw_http_request" in given:
        return Vector(
            **common,
            raw_request=str(given["raw_http_request"]).encode("utf-8"),
            given=dict(given["given"]),
            params=dict(expect["params"]) if "params" in expect else None,
        )
    record = Record.from_dict(expect["record"]) if "record" in expect else None
    return Vector(**common, format=Format(given["format"]), body=decode_body(given), record=record)


@cache
def load_vectors() -> tuple[Vector, ...]:
    """Every vector of every file, in file order."""
    return tuple(
        _vector(name, group["description"], test)
        for name in vector_file_names()
        for group in vector_document(name)
        for test in group["tests"]
    )


def body_vectors() -> list[Vector]:
    return [v for v in load_vectors() if v.is_body]


def request_vectors() -> list[Vector]:
    return [v for v in load_vectors() if v.raw_request is not None]


def transcript_vectors() -> list[Vector]:
    return [v for v in load_vectors() if v.transcript is not None]


# --- request vectors: the reference judgement ------------------------------------


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2 :]


def parse_raw_request(raw: bytes) -> RecordedRequest:
    """An HTTP/1.1 request as bytes (CRLF line ends), framed by Content-Length
    or chunked, as the recording server would have kept it."""
    from conformance.client.app import RecordedRequest

    head, _, body = raw.partition(b"\r\n\r\n")
    start, *lines = head.decode("latin-1").split("\r\n")
    method, target, _version = start.split(" ")
    headers = tuple(
        (name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines)
    )
    framing = {n.lower(): v for n, v in headers}
    if framing.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in framing:
        body = body[: int(framing["content-length"])]
    path, _, query = target.partition("?")
    return RecordedRequest(method, path, query.encode("latin-1"), headers, body)


def request_params(request: RecordedRequest) -> dict[str, str]:
    """What a server reads from a request: the first value of each parameter,
    and the apiKey header when it is not empty."""
    params, _problem = request.params()
    read: dict[str, str] = {}
    for param in params:
        read.setdefault(param.name, param.value)
    keys = [v for v in request.header_values("apiKey") if v.strip()]
    if keys:
        read["apiKey"] = keys[0]
    return read


def judge_request(raw: bytes, given: Mapping[str, str]) -> tuple[dict[str, str], frozenset[str]]:
    """The reference judgement of a request vector: the parameters a server
    reads, and the client requirements (MUST and SHOULD) the request breaks,
    judged by the client suite's request checks."""
    from conformance.client.runner import judge_requests  # the checks register here
    from conformance.client.scenarios import Case, Expectation
    from conformance.judging.redaction import Redactor

    request = parse_raw_request(raw)
    expect = Expectation(given.get("userId"), given.get("password"), given.get("apiKey"))
    result = judge_requests([Case(expect, [request])], Redactor())
    broken = frozenset(r.id for r in result.requirements.values() if r.failures)
    return request_params(request), broken
