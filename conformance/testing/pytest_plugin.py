"""pytest plugin: judge an SDK's requests from the SDK's own tests.

Installed with the kit (entry point ``pytest11``), so nothing is copied into a
``conftest.py``. The ``regenkey_server`` fixture yields a running conformance
server with an account (:class:`conformance.client.runner.ConformanceServer`);
at the end of the test's call phase (a hook wrapper around
``pytest_runtest_call``) the requests the SDK sent are judged with the client
suite's request checks, and any broken MUST fails *that test*, with the kit's
verdicts, not an ``ERROR at teardown`` (``--regenkey-strict``: any broken
SHOULD too; otherwise a SHOULD finding is a warning). A test that uses the
fixture and sent no request passes with a :class:`RegenkeyConformanceWarning`
saying nothing was judged: a test may use the server only for its address, so
failing it would be wrong, but silence would read as conformance. When the
test failed on its own, the kit's findings are added to its report as a
``regenkey`` section. Requests sent after the call phase (by another
fixture's teardown) are judged at teardown::

    def test_sdk_conforms(regenkey_server):
        MyClient(regenkey_server.base_url).regenerate(
            regenkey_server.user_id, regenkey_server.password, format="json")

The client suite (uvicorn, the checks) is imported only when the fixture is
used.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conformance.client.runner import ConformanceServer
    from conformance.judging.results import RequirementResult

_SERVER = pytest.StashKey["ConformanceServer"]()
_JUDGED = pytest.StashKey[int]()  # how many requests the call phase judged
NOTHING_SENT = (
    "regenkey_server: the test sent no request to the conformance server, so the kit judged nothing"
)


class RegenkeyConformanceWarning(UserWarning):
    """A SHOULD the SDK's requests broke (NON-STRICT), or a test that sent nothing."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("regenkey", "regenkey client conformance")
    group.addoption(
        "--regenkey-strict",
        action="store_true",
        help="regenkey_server: a broken SHOULD fails the test too (default: a warning)",
    )


def _texts(server: ConformanceServer, reqs: list[RequirementResult]) -> list[str]:
    """The first few failures of each requirement, formatted and redacted."""
    from conformance.reporting.text import SHOWN_FAILURES, format_failure

    redactor = server.redactor()
    shown = [(f, req.level) for req in reqs for f in req.failures[:SHOWN_FAILURES]]
    return [redactor(format_failure(f, level)) for f, level in shown]


def _verdicts(config: pytest.Config, server: ConformanceServer) -> str | None:
    """Warn of each SHOULD finding; the failure text of broken MUSTs, if any."""
    strict = bool(config.getoption("regenkey_strict", default=False))
    failing_reqs, finding_reqs = server.verdicts(strict)
    failing, findings = _texts(server, failing_reqs), _texts(server, finding_reqs)
    for text in findings:
        warnings.warn(RegenkeyConformanceWarning(text), stacklevel=1)
    if not failing:
        return None
    return "regenkey: the requests sent break the spec\n\n" + "\n\n".join(failing)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Judge what the test sent when its body ends, so a broken MUST fails it."""
    try:
        outcome = yield
    except BaseException:
        server = item.stash.get(_SERVER, None)
        if server is not None:  # the test failed by itself: add what the kit saw
            item.stash[_JUDGED] = len(server.requests)
            text = _verdicts(item.config, server)
            if text:
                item.add_report_section("call", "regenkey", text)
        raise
    server = item.stash.get(_SERVER, None)
    if server is not None:
        sent = len(server.requests)
        item.stash[_JUDGED] = sent
        if not sent:
            warnings.warn(RegenkeyConformanceWarning(NOTHING_SENT), stacklevel=1)
        else:
            text = _verdicts(item.config, server)
            if text:
                pytest.fail(text, pytrace=False)
    return outcome


@pytest.fixture
def regenkey_server(request: pytest.FixtureRequest) -> Iterator[ConformanceServer]:
    """A running conformance server; what the test sends is judged when the test ends."""
    from conformance.client.runner import sdk_server

    with sdk_server() as server:
        request.node.stash[_SERVER] = server
        yield server
    judged = request.node.stash.get(_JUDGED, None)
    if judged is not None and len(server.requests) <= judged:
        return  # the call phase judged everything
    if judged is None and not server.requests:
        return  # the test never ran its body (setup failed elsewhere)
    text = _verdicts(request.config, server)
    if text:
        pytest.fail(text, pytrace=False)
