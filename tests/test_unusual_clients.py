"""Correct but unusual clients pass (issue 16, acceptance): every one sends a
legal HTTP request that the page allows, so check-client gives no FAIL and
no ERROR; a SHOULD the client bends is NON-STRICT, and only that one.

The clients are real processes (bash+curl, Python on raw sockets) in
tests/clients/unusual/, judged with ``--raw`` over loopback. Below them, the
readers of :mod:`conformance.validation.inbound` are tested on the bodies
that were false reds: an ``<Account>`` document in UTF-16 and a multipart
body with a preamble.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.validation.inbound import BodyKind, body_kind, read_body
from regenkey.cli import main

UNUSUAL = Path(__file__).resolve().parent / "clients" / "unusual"
CURL = f"sh {shlex.quote(str(UNUSUAL / 'curl_unusual.sh'))}"
RAW = f"{shlex.quote(sys.executable)} {shlex.quote(str(UNUSUAL / 'raw_socket.py'))}"
MULTIPART = {"RK-AUTH-014"}  # form body rather than multipart: a SHOULD

# mode -> the SHOULDs it may bend (NON-STRICT); every other id passes or is not judged.
CURL_MODES: dict[str, set[str]] = {
    "http10": set(),  # HTTP/1.0 with Connection: close
    "expect-continue": set(),  # Expect: 100-continue, the body after the interim answer
    "compressed": set(),  # Accept-Encoding: deflate, gzip (br, zstd)
    "upper-format": set(),  # format=JSON: the page says "give value as JSON or XML"
    "upper-header": set(),  # APIKEY: header names are case-insensitive
    "chunked": set(),  # a chunked request body
    "media-params": set(),  # Application/X-WWW-Form-URLEncoded ; charset="UTF-8"
    "any-order": set(),  # format, password, userId
    # The vendor's PHP class: multipart, and empty userId/password beside a key.
    "multipart": MULTIPART | {"RK-AUTH-011"},
    "post-query": {"RK-AUTH-012"},  # credentials in a POST's query: a SHOULD only
}
RAW_MODES: dict[str, set[str]] = {
    "account-cdata": set(),  # byte-order mark, every value in CDATA
    "account-charrefs": set(),  # every value character a character reference
    "account-utf16": set(),  # UTF-16 with its byte-order mark
    "bare-multipart": MULTIPART,  # name=userId, boundary unquoted (RFC 7578)
    "multipart-preamble": MULTIPART,  # a preamble before the first boundary (RFC 2046)
    "chunked-odd": set(),  # chunks of 1-3 bytes, chunk extensions, a trailer
    "http10-no-host": set(),  # HTTP/1.0 has no Host header
}


def check_client(tmp_path: Path, command: str) -> tuple[int, dict[str, Any]]:
    reports = tmp_path / "reports"
    argv = ["check-client", "--command", command, "--raw", "--report-dir", str(reports)]
    # --timeout 3: a stalled answer is given up on within 18 s; these clients wait
    # 3 s (REGENKEY_CLIENT_TIMEOUT), 5 s without it.
    code = main([*argv, "--seed", "16", "--timeout", "3"])
    return code, json.loads((reports / "report.json").read_text(encoding="utf-8"))


def with_status(report: dict[str, Any], status: str) -> set[str]:
    return {r["id"] for r in report["requirements"] if r["status"] == status}


def assert_passes(tmp_path: Path, command: str, bends: set[str]) -> None:
    code, report = check_client(tmp_path, command)
    failures = [f for r in report["requirements"] for f in r.get("failures", [])][:3]
    assert with_status(report, "fail") == set(), failures
    assert with_status(report, "error") | with_status(report, "incomplete") == set(), report
    assert with_status(report, "non-strict") == bends, failures
    assert code == 0
    judged = {"RK-HTTP-011", "RK-PARAM-001", "RK-PARAM-003", "RK-FMT-006", "RK-CLI-002"}
    assert judged <= with_status(report, "pass")


@pytest.mark.parametrize(("mode", "bends"), CURL_MODES.items(), ids=list(CURL_MODES))
def test_an_unusual_curl_client_passes(tmp_path: Path, mode: str, bends: set[str]) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl not installed")
    assert_passes(tmp_path, f"{CURL} {mode}", bends)


@pytest.mark.parametrize(("mode", "bends"), RAW_MODES.items(), ids=list(RAW_MODES))
def test_an_unusual_raw_socket_client_passes(tmp_path: Path, mode: str, bends: set[str]) -> None:
    assert_passes(tmp_path, f"{RAW} {mode}", bends)


# --- the readers, on the bodies that were false reds ------------------------------

ACCOUNT = "<Account><userId>u</userId><password>Pü€ &amp;</password><format>xml</format></Account>"


@pytest.mark.parametrize(
    "body",
    [
        ("\ufeff<?xml version='1.0' encoding='UTF-16'?>" + ACCOUNT).encode("utf-16-le"),
        ("\ufeff" + ACCOUNT).encode("utf-16-be"),
        ("<?xml version='1.0' encoding='UTF-16LE'?>" + ACCOUNT).encode("utf-16-le"),
    ],
    ids=["utf-16-le-bom-declaration", "utf-16-be-bom", "utf-16-le-no-bom"],
)
def test_an_account_body_in_utf16_is_read(body: bytes) -> None:
    assert body_kind(body, "application/xml; charset=utf-16") is BodyKind.XML
    params, problem = read_body(body, "application/xml; charset=utf-16")
    assert problem is None
    assert [(p.name, p.value) for p in params] == [
        ("userId", "u"),
        ("password", "Pü€ &"),
        ("format", "xml"),
    ]
    # Labelled as a form, it is plainly XML all the same (one fault: the label).
    assert body_kind(body, "application/x-www-form-urlencoded") is BodyKind.XML


@pytest.mark.parametrize(
    "preamble",
    [b"This is a MIME message.\r\n", b"\r\n", b"line one\r\nline two\r\n"],
    ids=["text", "blank-line", "two-lines"],
)
def test_a_multipart_preamble_is_ignored(preamble: bytes) -> None:
    parts = b"".join(
        b'--b1\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (n, v)
        for n, v in ((b"userId", b"u"), (b"password", b"p --b1x"), (b"format", b"json"))
    )
    params, problem = read_body(
        preamble + parts + b"--b1--\r\n", "multipart/form-data; boundary=b1"
    )
    assert problem is None
    assert [(p.name, p.value) for p in params] == [
        ("userId", "u"),
        ("password", "p --b1x"),
        ("format", "json"),
    ]


def test_a_multipart_body_without_its_boundary_is_still_refused() -> None:
    body = (
        b'preamble\r\n--other\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--other--\r\n'
    )
    params, problem = read_body(body, "multipart/form-data; boundary=b1")
    assert params == [] and problem is not None and problem.requirement == "RK-HTTP-011"


def test_a_dtd_in_an_account_body_is_named_as_such_not_as_an_escaping_fault() -> None:
    body = b'<!DOCTYPE a [<!ENTITY e "x">]><Account><userId>&e;</userId></Account>'
    _, problem = read_body(body, "application/xml")
    assert problem is not None and "DTD" in problem.message and "escaped" not in problem.message
    _, problem = read_body(b"<Account><userId>a<b</userId></Account>", "application/xml")
    assert problem is not None and problem.requirement == "RK-PARAM-003"
    assert "XML-escaped" in problem.message
