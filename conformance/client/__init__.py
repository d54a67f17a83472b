"""The client suite: the kit plays the server, runs a client once per
scenario, and judges what it sent and what it understood (RK-CLI-*).

Importing :mod:`conformance.client.checks` registers the client checks;
:func:`run_client_suite` runs a command; :func:`sdk_server` serves an SDK's
own tests and judges the requests it sent (see :mod:`conformance.testing.pytest_plugin`).
:mod:`conformance.client.parser_checks` holds the checks of a response
parser alone (RK-PARSE-*), which only ``check-parser`` runs.
"""

from conformance.client import parser_checks  # noqa: F401 (registers check-parser's)
from conformance.client.runner import (
    ClientSuiteConfig,
    ConformanceServer,
    judge_requests,
    run_client_suite,
    sdk_server,
    selected_checks,
)

__all__ = [
    "ClientSuiteConfig",
    "ConformanceServer",
    "judge_requests",
    "run_client_suite",
    "sdk_server",
    "selected_checks",
]
