"""``regenkey docs``: the reference is complete, every sample it shows runs
against the reference server, and the page renders in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import Format, catalogue, validate_body
from conformance.transport.loopback import serving
from reference_impl.client import regenerate_api_key
from reference_impl.server import MemoryStore, build_app
from regenkey.docs import SECTION_IDS, write_docs
from regenkey.docs.samples import SAMPLES, Sample
from tests.chromium import browse, chromium

ROOT = Path(__file__).resolve().parent.parent
USER_ID = "docs-tester"
PASSWORD = "S4mple p@ss+&=%41ü"  # needs URL-encoding in a query, a form and JSON
FENCE = re.compile(r"^(`{3,})([\w-]+)( sample=([\w-]+))?\n(.*?)\n\1$", re.MULTILINE | re.DOTALL)
SKIPS = {
    "php": "php not installed: .ci/run installs Debian's php-cli and php-curl",
    "node": "node not installed",
    "java": "java not installed",
    "curl": "curl not installed",
}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    write_docs(out)
    return out


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    store = MemoryStore()
    store.add_account(USER_ID, PASSWORD)
    with serving(build_app(store)) as base_url:
        yield base_url


def _blocks(markdown: str) -> list[tuple[str, str, str]]:
    """(language, sample name or "", code) of every fenced block."""
    return [(m.group(2), m.group(4) or "", m.group(5)) for m in FENCE.finditer(markdown)]


def _section(markdown: str, sid: str) -> str:
    start = markdown.index(f'<a id="{sid}"></a>\n## ')
    end = markdown.find('<a id="', start + 1)
    while end != -1 and not markdown.startswith("\n## ", markdown.index("</a>", end) + 4):
        end = markdown.find('<a id="', end + 1)
    return markdown[start : end if end != -1 else len(markdown)]


# --- the content ---------------------------------------------------------------------


def test_cli_writes_both_files(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "regenkey.cli", "docs", "--out", str(tmp_path)],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "index.md").stat().st_size > 10_000
    assert (tmp_path / "index.html").stat().st_size > 10_000


def test_markdown_has_every_section_and_every_sample(docs: Path) -> None:
    markdown = (docs / "index.md").read_text(encoding="utf-8")
    for sid in SECTION_IDS:
        assert f'<a id="{sid}"></a>\n## ' in markdown, sid
    shown = {name: code for _lang, name, code in _blocks(markdown) if name}
    assert set(shown) == {s.name for s in SAMPLES}
    for s in SAMPLES:
        assert shown[s.name] == s.code.rstrip("\n"), s.name
    for word in ("curl", "Python", "PHP", "Node.js", "Java", "httpx", "reference client"):
        assert word in _section(markdown, "samples"), word


def test_both_auth_forms_url_methods_and_parameters_are_documented(docs: Path) -> None:
    markdown = (docs / "index.md").read_text(encoding="utf-8")
    assert "https://www.smsgateway.center/SMSApi/rest/regenerateAPIKey" in markdown
    auth = _section(markdown, "authentication")
    assert "userId=YourUsername&password=" in auth and "apiKey: " in auth
    assert all(f"`{p}`" in _section(markdown, "parameters")
               for p in ("userId", "password", "format", "apiKey"))  # fmt: skip
    assert all(m in _section(markdown, "methods") for m in ("GET", "POST", "<Account>"))


def test_every_response_shown_was_served_and_is_valid_in_every_format(docs: Path) -> None:
    blocks = _blocks(_section((docs / "index.md").read_text(encoding="utf-8"), "responses"))
    fmts = {"json": Format.JSON, "xml": Format.XML, "text": Format.PLAIN}
    kinds = set()
    for lang, _name, body in blocks:
        verdict = validate_body(body.encode("utf-8"), fmts[lang])
        assert verdict.record is not None, (body, verdict.violations)
        kinds.add((fmts[lang], verdict.record.is_success))
    assert kinds == {(fmt, ok) for fmt in Format for ok in (True, False)}


def test_the_error_envelope_and_the_catalogue_are_there(docs: Path) -> None:
    markdown = (docs / "index.md").read_text(encoding="utf-8")
    errors = _section(markdown, "errors")
    assert all(f"`RK-ERR-00{n}`" in errors for n in range(1, 6))
    table = _section(markdown, "requirements")
    for req in catalogue():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{req.id}` |"))
        assert f"| {req.level.value} | {req.applies_to.value} |" in row
        assert ("| inferred: " in row) == req.inferred, req.id


def test_the_page_is_standalone(docs: Path) -> None:
    page = (docs / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'(?:src|href)="(?!#)', page)
    assert "default-src 'none'" in page
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in page


# --- the samples run --------------------------------------------------------------------


def _skip_unless_installed(sample: Sample) -> None:
    if sample.tool != "python" and shutil.which(sample.tool) is None:
        pytest.skip(SKIPS.get(sample.tool, f"{sample.tool} not installed"))
    if sample.tool == "php":
        modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False)
        if "curl" not in modules.stdout.split():
            pytest.skip(SKIPS["php"])


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_every_sample_regenerates_a_key_on_the_reference_server(
    sample: Sample, docs: Path, server: str, tmp_path: Path
) -> None:
    _skip_unless_installed(sample)
    markdown = (docs / "index.md").read_text(encoding="utf-8")
    code = next(c for _lang, name, c in _blocks(markdown) if name == sample.name)
    script = tmp_path / f"sample{sample.suffix}"
    script.write_text(code + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    env |= {"REGENKEY_BASE_URL": server, "REGENKEY_USER_ID": USER_ID, "REGENKEY_PASSWORD": PASSWORD}
    if sample.auth == "key":
        current = regenerate_api_key(server, user_id=USER_ID, password=PASSWORD).api_key
        env = {k: v for k, v in env.items() if k not in ("REGENKEY_USER_ID", "REGENKEY_PASSWORD")}
        env["REGENKEY_API_KEY"] = current
    out = subprocess.run(sample.argv(script, sys.executable), capture_output=True, env=env,
                         timeout=120, check=False, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr.decode(errors="replace")[-2000:]
    printed = out.stdout.decode("utf-8")
    if sample.prints == "body":
        verdict = validate_body(printed.rstrip("\n").encode("utf-8"), sample.fmt)
        assert verdict.record is not None and verdict.record.api_key, verdict.violations
        key = verdict.record.api_key
    else:
        key = printed.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", key), printed
    # The key the sample reported is the account's key now.
    assert regenerate_api_key(server, api_key=key).api_key != key


# --- the page renders ---------------------------------------------------------------------


def test_the_page_renders_every_section_in_headless_chromium(docs: Path, tmp_path: Path) -> None:
    exe = chromium()
    page = (docs / "index.html").as_uri()
    dom = browse(exe, tmp_path / "profile", "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in dom.stdout, sid
    for s in SAMPLES:
        assert f'data-sample="{s.name}"' in dom.stdout, s.name
    shot = ROOT / "reports" / "docs.png"
    shot.unlink(missing_ok=True)
    taken = browse(exe, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,4000",
                    page)  # fmt: skip
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
