"""regenkey conformance kit: the spec's artefacts, validators, checks and strategies.

Everything a user or the reference implementation may rely on is exported
here on purpose; ``tests/test_public_api.py`` pins ``__all__``.
"""

from conformance.judging.redaction import REDACTED, Redactor, mask_key
from conformance.protocol.records import (
    ENDPOINT_PATH,
    MEDIA_TYPES,
    Format,
    Record,
    render,
    renderings,
)
from conformance.protocol.wire import Encoding, RequestSpec, WireRequest, build, curl_command
from conformance.spec.artefacts import (
    account_xsd,
    error_schema,
    openapi,
    page_text,
    plain_parser,
    responses_xsd,
    spec_bytes,
    spec_text,
    success_schema,
)
from conformance.spec.catalogue import Level, Party, Requirement, catalogue, is_known, requirement
from conformance.transport.exchange import (
    ConnectFailed,
    ExchangeError,
    ExchangeTimeout,
    HttpClient,
    HttpResponse,
    ResponseTooLarge,
)
from conformance.validation.bodies import BodyVerdict, Violation, parse_xml, validate_body

__all__ = [
    "ENDPOINT_PATH",
    "MEDIA_TYPES",
    "REDACTED",
    "BodyVerdict",
    "ConnectFailed",
    "Encoding",
    "ExchangeError",
    "ExchangeTimeout",
    "Format",
    "HttpClient",
    "HttpResponse",
    "Level",
    "Party",
    "Record",
    "Redactor",
    "RequestSpec",
    "Requirement",
    "ResponseTooLarge",
    "Violation",
    "WireRequest",
    "account_xsd",
    "build",
    "catalogue",
    "curl_command",
    "error_schema",
    "is_known",
    "mask_key",
    "openapi",
    "page_text",
    "parse_xml",
    "plain_parser",
    "render",
    "renderings",
    "requirement",
    "responses_xsd",
    "spec_bytes",
    "spec_text",
    "success_schema",
    "validate_body",
]
