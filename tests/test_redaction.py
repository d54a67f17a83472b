"""The Redactor: whole secrets in every spelling, and a password echoed only
in part (cut short, or split), which a target can do as easily."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus

from hypothesis import example, given
from hypothesis import strategies as st

from conformance import REDACTED, Format, Record, Redactor, render
from conformance.loopback import serving
from conformance.redaction import PARTIAL_RUN
from reference_impl.server import MemoryStore, build_app

PASSWORD = "Canary pw&<>+=%41-ü-7d1e9c3a5b"
KEY = "03db883b5e19416fbd306413b2fc0eb4"


def _runs(secret: str, width: int = PARTIAL_RUN) -> set[str]:
    return {secret[i : i + width] for i in range(len(secret) - width + 1)}


def test_whole_secrets_in_every_spelling_are_masked() -> None:
    redact = Redactor([PASSWORD])
    escaped = (json.dumps(PASSWORD)[1:-1], json.dumps(PASSWORD, ensure_ascii=False)[1:-1])
    for spelling in (PASSWORD, quote(PASSWORD, safe=""), quote_plus(PASSWORD), *escaped):
        assert redact(f"<{spelling}>") == f"<{REDACTED}>", spelling


def test_a_password_cut_short_is_masked_to_the_end_of_the_run() -> None:
    redact = Redactor([PASSWORD])
    assert redact(f"reason=bad password {PASSWORD[:14]}") == f"reason=bad password {REDACTED}"
    assert redact(f"tail:{PASSWORD[-9:]}!") == f"tail:{REDACTED}!"
    assert redact(f"{quote(PASSWORD, safe='')[:20]}…") == f"{REDACTED}…"


def test_runs_shorter_than_the_limit_are_left_alone() -> None:
    redact = Redactor([PASSWORD])
    short = PASSWORD[: PARTIAL_RUN - 1]
    assert redact(f"x{short}x") == f"x{short}x"
    assert redact("status=error | statusCode=401 | reason=invalid credentials") == (
        "status=error | statusCode=401 | reason=invalid credentials"
    )


AROUND = st.text(alphabet="xyz |=", max_size=10)


def _shared_tail(text: str, prefix: str) -> int:
    """How many of ``text``'s last characters end ``prefix`` too."""
    n = 0
    while n < min(len(text), len(prefix)) and text[-1 - n] == prefix[-1 - n]:
        n += 1
    return n


@given(st.integers(0, len(PASSWORD) - PARTIAL_RUN), st.integers(PARTIAL_RUN, len(PASSWORD)),
       AROUND, AROUND)  # fmt: skip
@example(7, 8, "y ", "")  # shrunk: "y " goes on the password's run "Canary pw", so it goes too
def test_no_run_of_the_limit_survives_anywhere(
    at: int, width: int, before: str, after: str
) -> None:
    part = PASSWORD[at : at + width]
    out = Redactor([PASSWORD])(before + part + after)
    assert not any(run in out for run in _runs(PASSWORD)), out
    # The text before is kept, up to where it goes on with the password's own run.
    kept = before[: len(before) - _shared_tail(before, PASSWORD[:at])]
    assert out.startswith(kept + REDACTED), out


def test_keys_are_masked_by_shape_not_by_runs() -> None:
    redact = Redactor([KEY])
    assert redact(f"key {KEY}") == f"key {REDACTED}"
    assert redact(f"part {KEY[:10]}") == f"part {KEY[:10]}"  # no partial runs for keys
    assert redact(f"other {'a' * 32}") == "other aaaa…aaaa"  # any key shape is masked


def test_check_server_hides_a_password_the_target_echoes_in_part(tmp_path: Path) -> None:
    """A target that quotes the first 14 characters of a wrong password in its
    refusals: no run of 8 of them reaches the terminal or the reports."""
    store = MemoryStore()
    store.add_account("regenkey-sandbox", PASSWORD)
    app = build_app(store)

    async def echoing(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:  # read the body, then hand it on as it came
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False) and message["type"] == "http.request"

        async def replay():  # type: ignore[no-untyped-def]
            return {"type": "http.request", "body": body, "more_body": False}

        fields = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
        fields |= parse_qs(body.decode(errors="replace"))
        given = fields.get("password", [""])[0]
        if given and given != PASSWORD:
            echoed.append(given[:14])
            body = render(Record.error("401", f"bad password {given[:14]}"), Format.PLAIN)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await app(scope, replay, send)

    echoed: list[str] = []
    with serving(echoing) as url:
        run = subprocess.run(
            [sys.executable, "-m", "regenkey.cli", "check-server", "--base-url", url,
             "--user-id", "regenkey-sandbox", "--max-examples", "3", "--seed", "5",
             "--report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=300,
            env={**__import__("os").environ, "REGENKEY_PASSWORD": PASSWORD},
        )  # fmt: skip
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    texts |= {p.name: p.read_text(errors="replace") for p in tmp_path.iterdir()}
    assert run.returncode in (0, 1), run.stderr[-2000:]
    assert PASSWORD[:14] in echoed  # the target did echo part of the real password
    runs = _runs(PASSWORD) | _runs(quote(PASSWORD, safe="")) | _runs(quote_plus(PASSWORD))
    leaked = {where for where, text in texts.items() for r in runs if r in text}
    assert leaked == set()
