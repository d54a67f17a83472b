"""The reference server of /SMSApi/rest/regenerateAPIKey.

``build_app(store)`` is the ASGI app; ``serve(host, port, store)`` runs it
with uvicorn; ``MemoryStore`` and ``SqliteStore`` keep the accounts and keys.
"""

from reference_impl.server.accesslog import LOGGER
from reference_impl.server.app import ALLOW, OPENAPI_PATH, build_app
from reference_impl.server.requests import DEFAULT_MAX_BODY, Params, Problem, Refused
from reference_impl.server.run import (
    ACCOUNTS_ENV,
    READY_LINE,
    Account,
    accounts_from_env,
    accounts_from_file,
    bind,
    configure_logging,
    load_accounts,
    parse_account_spec,
    serve,
)
from reference_impl.server.store import (
    AccountId,
    MemoryStore,
    SqliteStore,
    Store,
    StoreError,
    key_digest,
    new_key,
)

__all__ = [
    "ACCOUNTS_ENV",
    "ALLOW",
    "DEFAULT_MAX_BODY",
    "LOGGER",
    "OPENAPI_PATH",
    "READY_LINE",
    "Account",
    "AccountId",
    "MemoryStore",
    "Params",
    "Problem",
    "Refused",
    "SqliteStore",
    "Store",
    "StoreError",
    "accounts_from_env",
    "accounts_from_file",
    "bind",
    "build_app",
    "configure_logging",
    "key_digest",
    "load_accounts",
    "new_key",
    "parse_account_spec",
    "serve",
]
