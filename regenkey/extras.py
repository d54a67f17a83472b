"""The optional extras a command needs, and the one line it prints when one is missing.

``pip install regenkey-kit`` is the lean core: validate, check-server against a
``--base-url``, check-client, check-parser, call and replay. The reference server's
stack and the self-checks' OpenAPI validator are the ``server`` extra
(``pip install 'regenkey-kit[server]'``); ``all`` is every extra. A command that
needs a missing extra says which one and exits 2, before it imports anything
that would end in a traceback.
"""

from __future__ import annotations

import importlib.util

# The top-level modules the commands of each extra import (pyproject.toml
# [project.optional-dependencies]; uvicorn and python_multipart are core, listed so that
# a broken install is named too). uvloop is left out: uvicorn uses it only when present.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "server": ("starlette", "uvicorn", "httptools", "python_multipart", "openapi_spec_validator"),
    "schemathesis": ("schemathesis",),
}


def absent_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found, not imported)."""
    return [name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None]


def missing_extra(command: str, extra: str = "server", why: str = "") -> str | None:
    """The message for ``regenkey COMMAND`` when ``extra`` is not installed, else None.

    ``why`` (optional) names what needs it, e.g. " (--plan rehearses against the
    reference server)"."""
    if not absent_modules(extra):
        return None
    return f"regenkey {command}: needs the {extra} extra{why}: pip install 'regenkey-kit[{extra}]'"
