"""The pytest plugin (issue 18): a MUST broken inside a test fails THAT test,
not ``ERROR at teardown``, and a test that sent no request says so."""

from __future__ import annotations

import pytest

# Imported before any in-process pytester run: it snapshots sys.modules and drops
# what a run imported, and the client suite registers its checks once per import.
import conformance.client.runner  # noqa: F401
from conformance.testing.pytest_plugin import NOTHING_SENT

pytest_plugins = ["pytester"]

SDK_TESTS = """
import httpx

PATH = "/SMSApi/rest/regenerateAPIKey"

def test_good_sdk(regenkey_server):
    s = regenkey_server
    r = httpx.post(s.base_url + PATH,
                   data={"userId": s.user_id, "password": s.password, "format": "json"})
    assert r.json()["apiKey"] in s.issued_keys

def test_key_in_query(regenkey_server):
    s = regenkey_server
    httpx.get(s.base_url + PATH, params={"apiKey": s.api_key, "format": "xml"})

def test_sends_nothing(regenkey_server):
    assert regenkey_server.base_url.startswith("http://127.0.0.1:")

def test_fails_by_itself_and_breaks_a_must(regenkey_server):
    s = regenkey_server
    httpx.get(s.base_url + PATH, params={"apiKey": s.api_key, "format": "xml"})
    assert False, "the SDK's own assertion"
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_sdk=SDK_TESTS)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA", *args)


def test_a_broken_must_fails_the_test_itself(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "-k", "key_in_query")
    result.assert_outcomes(failed=1)  # failed in its call phase, no error
    text = result.stdout.str()
    assert "ERROR at teardown" not in text
    assert "FAILED test_sdk.py::test_key_in_query" in text
    assert "RK-AUTH-010 [MUST]" in text


def test_a_conformant_test_passes(pytester: pytest.Pytester) -> None:
    _run(pytester, "-k", "good_sdk").assert_outcomes(passed=1)


def test_a_test_that_sent_nothing_is_flagged(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "-k", "sends_nothing")
    result.assert_outcomes(passed=1, warnings=1)
    text = result.stdout.str()
    assert "RegenkeyConformanceWarning" in text
    assert NOTHING_SENT in text.replace("\n", " ") or "sent no request" in text


def test_a_test_that_failed_by_itself_shows_the_kits_findings(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "-k", "fails_by_itself")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "the SDK's own assertion" in text
    assert "regenkey" in text and "RK-AUTH-010" in text
    assert "ERROR at teardown" not in text


def test_the_whole_file(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.assert_outcomes(passed=2, failed=2, warnings=1)  # the warning: nothing sent
    assert "ERROR at teardown" not in result.stdout.str()
    strict = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--regenkey-strict")
    strict.assert_outcomes(passed=2, failed=2, warnings=1)


SHOULD_TEST = """
import httpx
from urllib.parse import quote

def test_password_in_url(regenkey_server):
    s = regenkey_server
    httpx.get(s.base_url + "/SMSApi/rest/regenerateAPIKey?userId=" + quote(s.user_id)
              + "&password=" + quote(s.password, safe="") + "&format=plain")
"""


def test_a_broken_should_warns_or_fails_with_strict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_should=SHOULD_TEST)
    lenient = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    lenient.assert_outcomes(passed=1, warnings=1)
    assert "RK-AUTH-012" in lenient.stdout.str()
    strict = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--regenkey-strict")
    strict.assert_outcomes(failed=1)
    assert "ERROR at teardown" not in strict.stdout.str()
