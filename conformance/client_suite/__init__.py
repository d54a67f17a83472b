"""The client suite: the kit plays the server, runs a client once per
scenario, and judges what it sent and what it understood (RK-CLI-*).

Importing :mod:`conformance.client_suite.checks` registers the client checks;
:func:`run_client_suite` runs a command; :func:`sdk_server` serves an SDK's
own tests and judges the requests it sent (see :mod:`conformance.pytest_plugin`).
:mod:`conformance.client_suite.parser_checks` holds the checks of a response
parser alone (RK-PARSE-*), which only ``check-parser`` runs.
"""

from conformance.client_suite import parser_checks  # noqa: F401 (registers check-parser's)
from conformance.client_suite.runner import (
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
