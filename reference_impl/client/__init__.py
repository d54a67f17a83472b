"""The reference client of /SMSApi/rest/regenerateAPIKey."""

from reference_impl.client.api import (
    RegenerateResult,
    aregenerate_api_key,
    interpret,
    regenerate_api_key,
)
from reference_impl.client.errors import (
    ApiError,
    ClientTimeout,
    ConnectionFailed,
    ProtocolError,
    RegenkeyClientError,
    TransportError,
)
from reference_impl.client.request import Credentials, Method, prepare, request_spec

__all__ = [
    "ApiError",
    "ClientTimeout",
    "ConnectionFailed",
    "Credentials",
    "Method",
    "ProtocolError",
    "RegenerateResult",
    "RegenkeyClientError",
    "TransportError",
    "aregenerate_api_key",
    "interpret",
    "prepare",
    "regenerate_api_key",
    "request_spec",
]
