"""The server checks, one module per requirement area, and the order they run in.

Importing this package registers every check. The files follow the catalogue
(h2spec's file per section): ``http`` (path, methods, encodings), ``params``
(parameter names and values), ``formats``, ``auth``, ``rotation`` (the key
lifecycle), ``safety`` (hostile input). The run order is :data:`RUN_ORDER`,
written out here and not left to import order: the foundations first (a form
POST, credentials that keep working, a key that survives refusals) so that the
checks leaning on them are blocked by their failures, plain acceptance next,
destructive rotation last. A server check missing from it is an error at import.
"""

from __future__ import annotations

from conformance.errors import RegistryError
from conformance.judging import registry
from conformance.server.checks import auth, formats, http, lifecycle, params, rotation, safety
from conformance.spec.catalogue import Party

MODULES = (http, params, formats, auth, rotation, safety, lifecycle)

RUN_ORDER: tuple[str, ...] = (
    # foundations (FOUNDATION, KEYED in conformance/judging/rules.py)
    "post_form_is_accepted",
    "credentials_keep_working",
    "refused_request_keeps_key",
    # encodings and methods
    "get_query_is_accepted",
    "post_xml_is_accepted",
    "post_multipart_is_accepted",
    "chunked_body_is_accepted",
    "get_with_content_type_is_accepted",
    "post_query_is_accepted",
    "other_methods_are_refused",
    "path_is_exact",
    "parameter_names_are_exact",
    "unknown_parameters_are_ignored",
    # formats
    "format_selects_rendering",
    "plain_is_the_default",
    "format_case_is_ignored",
    "unknown_format_is_refused",
    "error_uses_requested_format",
    # authentication
    "api_key_header_authenticates",
    "header_name_case_is_ignored",
    "unauthenticated_request_is_refused",
    "wrong_credentials_are_refused",
    "bad_api_key_is_refused",
    "empty_header_beside_credentials_is_ignored",
    "empty_fields_beside_header_are_ignored",
    "key_only_in_header",
    "encoded_password_authenticates",
    # every response, hostile input
    "body_conforms_to_artefact",
    "success_is_well_labelled",
    "errors_hold_no_key",
    "no_server_error",
    # the destructive lifecycle
    "key_lifecycle_holds",
    "concurrent_rotation_leaves_one_key",
    # the model-based lifecycle (issue 15), then every key the run was issued
    "lifecycle_follows_the_model",
    "keys_are_unpredictable",
)


def _arrange(order: tuple[str, ...]) -> None:
    """Put the registered server checks in ``order`` (the registry lists checks in
    registration order, which is what the runner reads)."""
    table = registry._REGISTRY
    server = [name for name, spec in table.items() if spec.party is Party.SERVER]
    missing, unknown = set(server) - set(order), set(order) - set(server)
    if missing or unknown or len(set(order)) != len(order):
        problem = f"not in RUN_ORDER: {sorted(missing)}; not registered: {sorted(unknown)}"
        raise RegistryError(f"conformance/server/checks/__init__.py: {problem}")
    for name in order:
        table[name] = table.pop(name)


_arrange(RUN_ORDER)

__all__ = [
    "MODULES",
    "RUN_ORDER",
    "auth",
    "formats",
    "http",
    "lifecycle",
    "params",
    "rotation",
    "safety",
]
