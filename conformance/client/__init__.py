"""The client suite: the kit plays the server, runs a client once per
scenario, and judges what it sent and what it understood (RK-CLI-*).

Importing :mod:`conformance.client.checks` registers the client checks;
:func:`run_client_suite` runs a command; :func:`sdk_server` serves an SDK's
own tests and judges the requests it sent (see :mod:`conformance.testing.pytest_plugin`).
:mod:`conformance.vectors.parser_checks` holds the checks of a response
parser alone (RK-PARSE-*), which only ``check-parser`` runs (the client suite
leaves every RK-PARSE check out, by its ids).
:mod:`conformance.client.safety` serves the SDK-safety scenarios (a stalled
or dropped answer, unreadable bodies, a redirect to another origin) that
:mod:`conformance.client.safety_checks` judges (RK-CLI-005..010).
"""

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
