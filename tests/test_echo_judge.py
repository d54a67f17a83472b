"""RK-SAFE-002 in the transcript judge: the same generator of spellings as the
server suite and the Redactor, headers included, and only for what a request
submitted as a password (issue 12, items 8 and 14)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import ENDPOINT_PATH
from conformance.vectors.transcripts import judge_transcript
from tests.servers.broken import BROKEN
from tests.test_transcripts import recorded, session

PASSWORD = "Sandbox-5e1f0c"
FORM = [["Content-Type", "application/x-www-form-urlencoded"]]


def _transcript(request_body: str, status: int, headers: list[list[str]], body: str) -> Any:
    return {
        "given": {"userId": "u", "password": PASSWORD},
        "exchanges": [
            {
                "request": {
                    "method": "POST",
                    "target": ENDPOINT_PATH,
                    "headers": FORM,
                    "body": request_body,
                },
                "response": {"status": status, "headers": headers, "body": body},
            }
        ],
    }


def _error(reason: str) -> str:
    return f"status=error | statusCode=401 | reason={reason}"


def test_an_echo_in_a_header_breaks_rk_safe_002() -> None:
    echo = [["Content-Type", "text/plain"], ["X-Login", PASSWORD]]
    sent = f"userId=u&password={PASSWORD}"
    found = judge_transcript(_transcript(sent, 200, echo, _error("bad login")))
    assert "RK-SAFE-002" in found


def test_an_xml_char_ref_echo_breaks_rk_safe_002() -> None:
    refs = "".join(f"&#x{ord(c):x};" for c in PASSWORD)
    body = (
        "<errorResponse><status>error</status><statusCode>401</statusCode>"
        f"<reason>bad {refs}</reason></errorResponse>"
    )
    sent = f"userId=u&password={PASSWORD}&format=xml"
    assert "RK-SAFE-002" in judge_transcript(_transcript(sent, 200, [], body))


def test_a_format_value_quoted_back_is_no_echo_of_a_password() -> None:
    """No password was submitted: the format value that happens to be the
    account's password may be quoted back."""
    sent = f"format={PASSWORD}"
    body = _error(f"unknown format {PASSWORD}")
    assert "RK-SAFE-002" not in judge_transcript(_transcript(sent, 200, [], body))


RECORDABLE = [
    "echoes-password-in-header",
    "echoes-password-json-u-escaped",
    "echoes-password-base64",
    "echoes-password-hex",
    "echoes-password-reversed",
    "echoes-password-upper-case",
]


@pytest.mark.parametrize("name", RECORDABLE)
def test_a_session_recorded_from_an_echoing_server_breaks_rk_safe_002(name: str) -> None:
    (server,) = [s for s in BROKEN if s.name == name]
    with recorded(server.make) as r:
        session(r)
    assert judge_transcript(r.transcript()) == {"RK-SAFE-002"}


@pytest.mark.parametrize("drawn", ["Content-Length", "content-length", "htgnel-tnetnoc"])
def test_a_submitted_password_spelling_a_header_name_is_no_echo(drawn: str) -> None:
    # Shrunk from `check-server --max-examples 10000 --seed 1` against the
    # reference server: a drawn junk password matched the Content-Length header's
    # *name* and failed a correct server under RK-SAFE-002.
    from conformance.judging.spellings import echo_in

    headers = [("content-length", "52"), ("content-type", "text/plain; charset=utf-8")]
    body = _error("invalid credentials").encode()
    assert echo_in(drawn, headers, body) is None
    assert echo_in(drawn, [("x-echo", drawn)], body) == "in the x-echo header"
