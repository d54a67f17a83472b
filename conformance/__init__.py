"""regenkey conformance kit: the spec's artefacts, validators, checks and strategies.

Everything a user or the reference implementation may rely on is exported
here on purpose; ``tests/test_public_api.py`` pins ``__all__``. The command
(``regenkey/``, the composition root) may also use the suites' entry modules
named in :data:`ENTRY_MODULES`, and nothing else of the kit
(``tests/test_architecture.py`` holds it to that).
"""

from conformance.errors import (
    Blocked,
    CatalogueError,
    CredentialsRefused,
    KitError,
    ParserBroke,
    RegistryError,
    TargetError,
)
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

#: The modules of the subpackages that the command may import besides this public
#: API: each suite's runner and configuration, the report writers, the terminal's
#: text helpers, the loopback server, and the one key shape and generator of a
#: secret's spellings. Anything else is the kit's inside.
ENTRY_MODULES = (
    "conformance.client.runner",
    "conformance.judging.registry",
    "conformance.judging.results",
    "conformance.judging.spellings",  # the key shape and a secret's spellings (Schemathesis)
    "conformance.reporting.files",
    "conformance.reporting.text",
    "conformance.server.recording",
    "conformance.server.runner",
    "conformance.spec.catalogue",
    "conformance.validation.selfcheck",
    "conformance.transport.exchange",
    "conformance.transport.loopback",
    "conformance.vectors.parser_suite",
    "conformance.vectors.suite",
)

__all__ = [
    "ENDPOINT_PATH",
    "MEDIA_TYPES",
    "REDACTED",
    "Blocked",
    "BodyVerdict",
    "CatalogueError",
    "ConnectFailed",
    "CredentialsRefused",
    "Encoding",
    "ExchangeError",
    "ExchangeTimeout",
    "Format",
    "HttpClient",
    "HttpResponse",
    "KitError",
    "Level",
    "ParserBroke",
    "Party",
    "Record",
    "Redactor",
    "RegistryError",
    "RequestSpec",
    "Requirement",
    "ResponseTooLarge",
    "TargetError",
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
