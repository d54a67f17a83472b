"""The Redactor: whole secrets in every spelling, and a password echoed only
in part (cut short, or split), which a target can do as easily."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus
from xml.sax.saxutils import escape as xml_escape

from hypothesis import example, given
from hypothesis import strategies as st

from conformance import REDACTED, Format, Record, Redactor, render
from conformance.judging.redaction import PARTIAL_RUN
from conformance.transport.loopback import serving
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


# --- one generator of spellings, short passwords (issue 12, items 8 and 10) ---------


def _percent_all(text: str, upper: bool = True) -> str:
    """Every byte percent-encoded, unreserved ones too: legal, and unusual."""
    return "".join(f"%{b:02X}" if upper else f"%{b:02x}" for b in text.encode())


def _u_escapes(text: str, digits: str = "{:02x}") -> str:
    """Every UTF-16 unit as a JSON \\u escape."""
    units = text.encode("utf-16-be")
    pairs = zip(units[::2], units[1::2], strict=True)
    return "".join("\\u" + digits.format(a) + digits.format(b) for a, b in pairs)


def planted(secret: str) -> dict[str, str]:
    """The spellings a target may echo, written out here independently of the kit."""
    raw = secret.encode()
    return {
        "raw": secret,
        "upper-cased": secret.upper(),
        "lower-cased": secret.lower(),
        "reversed": secret[::-1],
        "base64": base64.b64encode(raw).decode(),
        "base64url-unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "xml-decimal-refs": "".join(f"&#{ord(c)};" for c in secret),
        "xml-hex-refs": "".join(f"&#X{ord(c):x};" for c in secret),
        "xml-escaped": xml_escape(secret, {'"': "&quot;"}),
        "json-u-lower": _u_escapes(secret),
        "json-u-upper": _u_escapes(secret, "{:02X}"),
        "json-escaped": json.dumps(secret)[1:-1],
        "url-%20": quote(secret, safe=""),
        "url-lower-hex": quote(secret, safe="").lower(),
        "url-plus": quote_plus(secret),
        "url-every-byte": _percent_all(secret),
        "url-every-byte-lower": _percent_all(secret, upper=False),
        "url-twice": quote(quote(secret, safe=""), safe=""),
        "encodeURIComponent": quote(secret, safe="~()*!.'"),
    }


def test_every_spelling_of_a_password_is_masked() -> None:
    redact = Redactor([PASSWORD])
    left = {name: redact(f"<{s}>") for name, s in planted(PASSWORD).items()}
    assert {name: out for name, out in left.items() if out != f"<{REDACTED}>"} == {}


def test_the_judge_and_the_redactor_share_one_generator() -> None:
    from conformance.judging.spellings import echo_in

    for name, spelling in planted(PASSWORD).items():
        body = f"status=error | statusCode=401 | reason=bad password {spelling}".encode()
        assert echo_in(PASSWORD, [], body) is not None, name
        assert echo_in(PASSWORD, [("X-Echo", spelling)], b"") is not None, name


KIT_TEXT = (
    "RK-HTTP-001 [MUST] path is exact  (check: path_is_exact)\n"
    "RK-SAFE-002 [MUST] password never echoed (check: no_server_error) --data-urlencode "
    "'password=' bypass passable compass x-powered-by RK-x-1 pyclient.py"
)


def test_a_short_password_leaves_the_kits_own_words_alone() -> None:
    for short in ("pass", "x", "wrong", "py", "SAFE", "exa", "_is"):
        assert Redactor([short])(KIT_TEXT) == KIT_TEXT, short


def test_a_short_password_is_masked_as_a_value() -> None:
    redact = Redactor(["pass"])
    values = [
        "password=pass",
        '"pass"',
        "<password>pass</password>",
        "apiKey: pass",
        "'pass'",
        "reason=bad password pass.",
        "userId=u&password=pass&format=json",
        "password=%70ass",
        "<password>&#112;ass</password>",
        '{"password": "\\u0070ass"}',
        "x-login-echo: PASS",
        "ssap",
        "cGFzcw==",
    ]
    for text in values:
        out = redact(text)
        assert REDACTED in out and "pass" not in out.replace("password", ""), (text, out)


def _serve_with(password: str, fault: object = None):  # type: ignore[no-untyped-def]
    """The reference server with one account whose password is ``password``,
    behind an optional response fault of tests.servers.broken's kind."""
    from tests.servers.breaker import Breaker

    store = MemoryStore()
    store.add_account("regenkey-sandbox", password)
    app = build_app(store)
    return serving(Breaker(app, on_response=fault) if fault is not None else app)


def _judge_with(password: str, fault: object = None):  # type: ignore[no-untyped-def]
    from conformance.server.runner import Account, ServerSuiteConfig, Target, run_server_suite

    with _serve_with(password, fault) as url:
        config = ServerSuiteConfig(
            target=Target(base_url=url),
            account=Account("regenkey-sandbox", password),
            seed=7,
            max_examples=3,
        )
        return run_server_suite(config, Redactor())


def test_a_short_password_is_still_judged_and_the_run_says_how() -> None:
    from conformance.judging.results import Status
    from conformance.judging.spellings import SHORT_PASSWORD_NOTE

    clean = _judge_with("pass").requirements["RK-SAFE-002"]
    assert clean.status is Status.PASS and clean.checks_run > 0
    assert clean.skip_reasons.count(SHORT_PASSWORD_NOTE) == 1

    def echo_as_value(req, resp) -> None:  # type: ignore[no-untyped-def]
        if req.form().get("password") == "pass":
            resp.headers = [*resp.headers, (b"x-login", b"pass")]

    echoed = _judge_with("pass", echo_as_value).requirements["RK-SAFE-002"]
    assert echoed.status is Status.FAIL, echoed
    assert "x-login header" in echoed.failures[0].actual


def _outputs(run: subprocess.CompletedProcess[str], *dirs: Path) -> dict[str, str]:
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    for d in dirs:
        texts |= {str(p): p.read_text(errors="replace") for p in d.rglob("*") if p.is_file()}
    return texts


def _check_server(url: str, password: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "regenkey.cli",
            "check-server",
            "--base-url",
            url,
            "--user-id",
            "regenkey-sandbox",
            "--max-examples",
            "3",
            "--seed",
            "5",
            "--report-dir",
            str(tmp_path / "reports"),
            "--record",
            str(tmp_path / "rec"),
            "--allow-skip",
            "RK-PARAM-002,RK-ROT-008",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "REGENKEY_PASSWORD": password},
    )


def test_check_server_masks_every_spelling_a_target_echoes(tmp_path: Path) -> None:
    """A target that echoes the password of each request in every spelling, in
    its headers and (one spelling an answer) in its reasons: none reaches the
    terminal, report.json, junit.xml, report.html or the recording."""
    spellings = planted(PASSWORD)
    bodies_only = sorted(name for name, s in spellings.items() if not s.isascii())
    names = bodies_only + sorted(set(spellings) - set(bodies_only))  # headers carry the rest
    served: list[str] = []

    def echo_everywhere(req, resp) -> None:  # type: ignore[no-untyped-def]
        if req.form().get("password") != PASSWORD:
            return
        resp.headers = [*resp.headers] + [
            (f"x-echo-{name}".encode(), s.encode()) for name, s in spellings.items() if s.isascii()
        ]
        record = resp.record
        if record is not None and not record.is_success:
            name = names[len(served) % len(names)]
            served.append(name)
            resp.body = render(
                Record.error("401", f"bad password {spellings[name]}"), resp.fmt
            ).encode()

    with _serve_with(PASSWORD, echo_everywhere) as url:
        run = _check_server(url, PASSWORD, tmp_path)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    assert "RK-SAFE-002" in run.stdout and set(bodies_only) <= set(served), served
    texts = _outputs(run, tmp_path / "reports", tmp_path / "rec")
    assert len(texts) >= 5
    leaked = {
        (name, where) for name, s in spellings.items() for where, text in texts.items() if s in text
    }
    assert leaked == set()


def test_check_server_with_a_one_letter_password_keeps_its_own_words(tmp_path: Path) -> None:
    """Password ``x``: nothing of the kit's own text is masked, and RK-SAFE-002
    is judged (PASS, not SKIP) with the run saying once how."""
    from conformance.judging.spellings import SHORT_PASSWORD_NOTE

    with _serve_with("x") as url:
        run = _check_server(url, "x", tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    texts = _outputs(run, tmp_path / "reports")
    glued = {where for where, t in texts.items() if re.search(r"\w\[REDACTED\]|\[REDACTED\]\w", t)}
    assert glued == set()
    assert "path_is_exact" in texts["stdout"] and "password never echoed" in texts["stdout"]
    report = json.loads(texts[str(tmp_path / "reports" / "report.json")])
    safe = next(r for r in report["requirements"] if r["id"] == "RK-SAFE-002")
    assert safe["status"] == "pass" and safe["checks_run"] > 0
    assert [n for n in safe["skip_reasons"] if "shorter than" in n] == [SHORT_PASSWORD_NOTE]


def test_partial_runs_leave_the_kits_own_words_pasteable() -> None:
    # A password holding a protocol word must not mask that word where the kit
    # writes it (a reproduction's $REGENKEY_PASSWORD, a field name), while
    # every run reaching beyond the word is still masked.
    r = Redactor(["wrong-password-x"])
    text = r("curl -d password=$REGENKEY_PASSWORD; echoed: -password-x and wrong-passw")
    assert "password=$REGENKEY_PASSWORD" in text
    assert "-password-x" not in text and "wrong-passw" not in text
    assert text.count(REDACTED) == 2
