"""Public names are exported on purpose: this pins them."""

from __future__ import annotations

import conformance


def test_conformance_all_is_pinned() -> None:
    assert sorted(conformance.__all__) == sorted(
        [
            "ENDPOINT_PATH", "MEDIA_TYPES", "Encoding", "RequestSpec", "WireRequest", "build",
            "curl_command", "REDACTED", "Redactor", "mask_key", "BodyVerdict", "Format",
            "Level", "Party",
            "Record", "Requirement", "Violation", "account_xsd", "catalogue",
            "error_schema", "is_known", "openapi", "page_text", "parse_xml",
            "plain_parser", "render", "renderings", "requirement", "responses_xsd",
            "spec_bytes", "spec_text", "success_schema", "validate_body",
            # the bounded HTTP exchange (conformance/transport/exchange.py)
            "ConnectFailed", "ExchangeError", "ExchangeTimeout", "HttpClient", "HttpResponse",
            "ResponseTooLarge",
        ]
    )  # fmt: skip
    for name in conformance.__all__:
        assert hasattr(conformance, name), name
