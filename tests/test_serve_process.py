"""`regenkey serve` as a real process, driven by real clients: the reference
client, curl, and the page's own Node.js samples."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance import Format, validate_body
from reference_impl.client import ApiError, regenerate_api_key
from tests.samples import node_samples

USER = "alice"
PASSWORD = "p a+s&s=w%41rd-ünï"  # space, +, &, =, %41 and non-ASCII letters


@contextmanager
def regenkey_serve(db: Path) -> Iterator[str]:
    env = {**os.environ, "REGENKEY_ACCOUNTS": f"{USER}:{PASSWORD}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "regenkey.cli", "serve", "--port", "0", "--db", str(db)],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()
    try:
        assert "listening on " in line, line
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=10)[1]
        assert "Traceback" not in rest
        assert PASSWORD not in rest  # the request log carries no secret


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with regenkey_serve(tmp_path / "db.sqlite3") as url:
        yield url


ENCODINGS = [("GET", "query"), ("POST", "query"), ("POST", "form"), ("POST", "multipart"),
             ("POST", "xml")]  # fmt: skip


@pytest.mark.parametrize(("method", "encoding"), ENCODINGS)
@pytest.mark.parametrize("fmt", ["plain", "json", "xml", "JSON"])
def test_reference_client_every_shape_with_an_awkward_password(
    server: str, method: str, encoding: str, fmt: str
) -> None:
    result = regenerate_api_key(server, user_id=USER, password=PASSWORD, format=fmt,
                                method=method, encoding=encoding)  # fmt: skip
    again = regenerate_api_key(server, api_key=result.api_key, format=fmt, method=method,
                               encoding=encoding)  # fmt: skip
    assert again.api_key != result.api_key
    with pytest.raises(ApiError):  # the old key is revoked
        regenerate_api_key(server, api_key=result.api_key, format=fmt)


def test_curl_post_and_get(server: str) -> None:
    url = server + "/SMSApi/rest/regenerateAPIKey"
    post = subprocess.run(
        ["curl", "-sS", "--data-urlencode", f"userId={USER}", "--data-urlencode",
         f"password={PASSWORD}", "--data-urlencode", "format=json", url],
        capture_output=True, check=True,
    )  # fmt: skip
    key = json.loads(post.stdout)["apiKey"]
    get = subprocess.run(["curl", "-sS", "-H", f"apikey: {key}", f"{url}?format=xml"],
                         capture_output=True, check=True)  # fmt: skip
    verdict = validate_body(get.stdout, Format.XML)
    assert verdict.ok and verdict.record is not None and verdict.record.api_key != key


@pytest.mark.parametrize("which", ["POST", "GET"])
def test_page_node_samples_regenerate(server: str, tmp_path: Path, which: str) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    script = tmp_path / "sample.js"
    script.write_text(node_samples()[which == "GET"], encoding="utf-8")
    env = {**os.environ, "REGENKEY_BASE_URL": server, "REGENKEY_USER_ID": USER,
           "REGENKEY_PASSWORD": PASSWORD, "REGENKEY_FORMAT": "plain"}  # fmt: skip
    out = subprocess.run(["node", str(script)], capture_output=True, env=env, check=True)
    verdict = validate_body(out.stdout.strip(), Format.PLAIN)
    assert verdict.ok and verdict.record is not None and verdict.record.is_success


def test_a_restart_keeps_the_last_key(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with regenkey_serve(db) as url:
        first = regenerate_api_key(url, user_id=USER, password=PASSWORD).api_key
        last = regenerate_api_key(url, api_key=first).api_key
    with regenkey_serve(db) as url:
        with pytest.raises(ApiError):
            regenerate_api_key(url, api_key=first)
        assert regenerate_api_key(url, api_key=last).api_key not in (first, last)


def test_call_cli_masks_the_key_and_uses_exit_codes(server: str, tmp_path: Path) -> None:
    def call(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "REGENKEY_PASSWORD": PASSWORD}
        return subprocess.run([sys.executable, "-m", "regenkey.cli", "call", "--base-url", server,
                               *args], capture_output=True, text=True, env=env)  # fmt: skip

    masked = call("--user-id", USER, "--key-file", str(tmp_path / "key"))
    assert masked.returncode == 0 and "…" in masked.stdout
    shown = call("--user-id", USER, "--show-key", "--format", "xml")
    key = shown.stdout.split("apiKey=")[1].split()[0]
    assert len(key) == 32
    refused = call("--user-id", "nobody", "--show-key")
    assert refused.returncode == 1 and "statusCode=401" in refused.stderr
    dead = subprocess.run(
        [sys.executable, "-m", "regenkey.cli", "call", "--base-url", "http://127.0.0.1:9",
         "--api-key", key, "--show-key"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert dead.returncode == 2 and "cannot connect" in dead.stderr
    assert "Traceback" not in masked.stderr + shown.stderr + refused.stderr + dead.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-body", "0"], "--max-body must be at least 1"),
        (["--account", "no-colon"], "USER:PASSWORD"),
    ],
)
def test_serve_usage_errors_exit_2_without_a_traceback(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "regenkey.cli", "serve", "--memory", "--port", "0", *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("method", ["FOO", "PUT", "HEAD"])
def test_serve_refuses_every_other_method_with_405_and_allow(server: str, method: str) -> None:
    """llhttp (the fast parser regenkey serve runs) rejects methods it does not
    know before the app sees them; the server still answers 405 (RK-HTTP-008)."""
    import httpx

    before = regenerate_api_key(server, user_id=USER, password=PASSWORD).api_key
    response = httpx.request(method, server + "/SMSApi/rest/regenerateAPIKey",
                             params={"userId": USER, "password": PASSWORD}, timeout=10)  # fmt: skip
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    if method != "HEAD":
        verdict = validate_body(response.content, Format.PLAIN)
        assert verdict.record is not None and verdict.record.status_code == "405"
    # Nothing was rotated: the key from before still works.
    assert regenerate_api_key(server, api_key=before).api_key != before
