"""pytest plugin: judge an SDK's requests from the SDK's own tests.

Installed with the kit (entry point ``pytest11``), so nothing is copied into a
``conftest.py``. The ``regenkey_server`` fixture yields a running conformance
server with an account (:class:`conformance.client_suite.runner.ConformanceServer`);
at teardown the requests the SDK sent are judged with the client suite's
request checks, and any broken MUST fails the test with the kit's verdicts
(``--regenkey-strict``: any broken SHOULD too; otherwise a SHOULD finding is a
warning)::

    def test_sdk_conforms(regenkey_server):
        MyClient(regenkey_server.base_url).regenerate(
            regenkey_server.user_id, regenkey_server.password, format="json")

The client suite (uvicorn, the checks) is imported only when the fixture is
used.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conformance.client_suite.runner import ConformanceServer


class RegenkeyConformanceWarning(UserWarning):
    """A SHOULD the SDK's requests broke (NON-STRICT)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("regenkey", "regenkey client conformance")
    group.addoption(
        "--regenkey-strict",
        action="store_true",
        help="regenkey_server: a broken SHOULD fails the test too (default: a warning)",
    )


@pytest.fixture
def regenkey_server(request: pytest.FixtureRequest) -> Iterator[ConformanceServer]:
    """A running conformance server; teardown fails the test with the kit's verdicts."""
    from conformance.client_suite.runner import sdk_server

    with sdk_server() as server:
        yield server
    strict = bool(request.config.getoption("regenkey_strict", default=False))
    failing, findings = server.verdicts(strict)
    for text in findings:
        warnings.warn(RegenkeyConformanceWarning(text), stacklevel=1)
    if failing:
        head = "regenkey: the requests sent break the spec\n\n"
        pytest.fail(head + "\n\n".join(failing), pytrace=False)
