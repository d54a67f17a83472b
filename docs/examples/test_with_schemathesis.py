"""Schemathesis with the regenkey extension, in pytest, beside the kit's own fixture.

Two kinds of test live side by side here (docs/SCHEMATHESIS.md):

- ``test_server_*`` judge a *server* with Schemathesis and the extension
  (``regenkey.schemathesis``): the kit's body, status and rotation checks on
  every response. Point them at your server with ``REGENKEY_BASE_URL``,
  ``REGENKEY_USER_ID`` and ``REGENKEY_PASSWORD`` (or ``REGENKEY_API_KEY``);
  without ``REGENKEY_BASE_URL`` a throwaway ``regenkey serve --memory`` is
  started on a free loopback port.
- ``test_sdk_*`` judge an *SDK* with the kit's ``regenkey_server`` fixture:
  the kit plays the server and fails the test if the requests break the spec.

    pytest docs/examples/test_with_schemathesis.py

``schemathesis.pytest.from_fixture`` does not work under pytest 9, so the
schema is loaded at import time from the kit's own copy of the OpenAPI
document, and the base URL comes from a fixture at call time.
"""

from __future__ import annotations

import copy
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import regenkey.schemathesis  # noqa: F401  (registers the checks, credentials and links)
from conformance import ENDPOINT_PATH, openapi

CONFIG = Path(__file__).resolve().parent.parent / "schemathesis.toml"
SETTINGS = settings(
    max_examples=int(os.environ.get("REGENKEY_EXAMPLES", "10")),
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

schema = schemathesis.openapi.from_dict(
    copy.deepcopy(openapi()), config=schemathesis.Config.from_path(CONFIG)
)


def _regenkey() -> str:
    beside = Path(sys.executable).with_name("regenkey")
    return str(beside) if beside.exists() else shutil.which("regenkey") or "regenkey"


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Your server (REGENKEY_BASE_URL), or a throwaway reference server."""
    given = os.environ.get("REGENKEY_BASE_URL")
    if given:
        yield given.rstrip("/")
        return
    user, password = "schemathesis-sandbox", f"Sandbox-{secrets.token_hex(8)}"
    env = {**os.environ, "REGENKEY_ACCOUNTS": f"{user}:{password}"}
    # It announces its URL on stderr, then writes its access log there: a file, not a pipe.
    log = tmp_path_factory.mktemp("regenkey-serve") / "stderr.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [_regenkey(), "serve", "--memory", "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    saved = {k: os.environ.get(k) for k in ("REGENKEY_USER_ID", "REGENKEY_PASSWORD")}
    try:
        deadline = time.monotonic() + 30
        found = None
        while found is None and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.05)
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text())
        assert found, "regenkey serve did not start"
        os.environ.update(REGENKEY_USER_ID=user, REGENKEY_PASSWORD=password)
        yield found.group(1)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.terminate()
        server.wait(timeout=10)


@schema.parametrize()
@SETTINGS
def test_server_answers_every_request_as_the_spec_says(case: Any, base_url: str) -> None:
    """Every generated request, judged by Schemathesis' checks and the extension's."""
    case.call_and_validate(base_url=base_url)


def test_server_rotates_keys_through_the_links(base_url: str) -> None:
    """The stateful form: each answer's new key drives the next request (RK-ROT-002/003)."""

    class Rotations(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url}

    Rotations.run(settings=settings(SETTINGS, max_examples=5, stateful_step_count=4))


def test_sdk_sends_conformant_requests(regenkey_server: Any) -> None:
    """Stand-in for your SDK: the kit's fixture judges the requests it sent."""
    response = httpx.post(
        regenkey_server.base_url + ENDPOINT_PATH,
        data={
            "userId": regenkey_server.user_id,
            "password": regenkey_server.password,
            "format": "json",
        },
        timeout=10,
    )
    assert response.json()["status"] == "success"
