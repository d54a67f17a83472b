"""The reference client's errors: one type per thing that can go wrong."""

from __future__ import annotations

from conformance import Violation


class RegenkeyClientError(Exception):
    """Base of every error the reference client raises."""


class ApiError(RegenkeyClientError):
    """The server answered with the spec's error envelope."""

    def __init__(self, status_code: str, reason: str, http_status: int) -> None:
        super().__init__(f"API error {status_code}: {reason}")
        self.status_code = status_code
        self.reason = reason
        self.http_status = http_status


class ProtocolError(RegenkeyClientError):
    """The server answered with a body the spec does not allow."""

    def __init__(self, violations: tuple[Violation, ...], http_status: int) -> None:
        lines = "; ".join(str(v) for v in violations)
        super().__init__(f"non-conformant response (HTTP {http_status}): {lines}")
        self.violations = violations
        self.http_status = http_status


class TransportError(RegenkeyClientError):
    """The request did not complete: no conformance judgement is possible."""


class ClientTimeout(TransportError):
    """The server did not answer in time."""


class ConnectionFailed(TransportError):
    """The server could not be reached."""
