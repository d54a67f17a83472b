"""The peers, set up to measure fairly: schemathesis, bare Starlette, Prism.

* **schemathesis** loads this module through
  ``SCHEMATHESIS_HOOKS=bench.peers`` (with the repository on ``PYTHONPATH``):
  :func:`register_hooks` injects the bench account (``BENCH_USER_ID``,
  ``BENCH_PASSWORD``) into its positive cases only, so that they regenerate a
  key and it really tests; overwriting fields of a negative case could turn
  it valid (see /work/shared/schemathesis-notes.md).
* **bare Starlette**: ``python -m bench.peers`` runs
  :func:`reference_impl.server.serve` (the code behind ``regenkey serve``:
  same socket, same ``uvicorn.Config``, same logging set-up) with the app
  swapped for one route returning a constant. So the only difference from the
  reference server is the application.
* **Prism** (``@stoplight/prism-cli``, installed by ``make bench`` under
  ``bench/.node``) mocks ``spec/openapi.yaml``; ``--verboseLevel error`` keeps
  its logging cheaper than its default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.common import ROOT

PRISM = ROOT / "bench" / ".node" / "node_modules" / ".bin" / "prism"
HOOKS_MODULE = "bench.peers"
KEY = "03db883b5e19416fbd306413b2fc0eb4"


# --- schemathesis ----------------------------------------------------------------


def _credentials() -> dict[str, str]:
    return {"userId": os.environ["BENCH_USER_ID"], "password": os.environ["BENCH_PASSWORD"]}


def with_credentials(case: Any) -> Any:
    """A positive case authenticates (query for GET, form/XML body for POST)."""
    from schemathesis import GenerationMode

    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    if mode != GenerationMode.POSITIVE:
        return case
    creds = _credentials()
    if case.method.upper() == "POST" and isinstance(case.body, dict):
        case.body = {**case.body, **creds}
    else:
        case.query = {**(case.query or {}), **creds}
    return case


def register_hooks() -> None:
    import schemathesis

    @schemathesis.hook
    def map_case(context: Any, case: Any) -> Any:
        return with_credentials(case)


if os.environ.get("SCHEMATHESIS_HOOKS") == HOOKS_MODULE and "BENCH_USER_ID" in os.environ:
    register_hooks()


def schemathesis_env() -> dict[str, str]:
    """What ``schemathesis run`` needs in its environment to load the hooks."""
    return {"PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": HOOKS_MODULE}


# --- bare Starlette --------------------------------------------------------------


def bare_app(*_: Any, **__: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from conformance import ENDPOINT_PATH, Format, Record, render

    constant = render(Record.success(KEY), Format.PLAIN)

    async def endpoint(request: Request) -> Response:
        return Response(constant, media_type="text/plain; charset=utf-8")

    return Starlette(routes=[Route(ENDPOINT_PATH, endpoint, methods=["GET", "POST"])])


def serve_bare() -> None:
    """Serve :func:`bare_app` exactly as ``regenkey serve`` serves its app."""
    import reference_impl.server.run as server_run
    from reference_impl.server import MemoryStore

    setattr(server_run, "build_app", bare_app)  # noqa: B010 (the one swap, on purpose)
    server_run.serve("127.0.0.1", 0, MemoryStore())


# --- Prism -----------------------------------------------------------------------


def prism_binary() -> Path | None:
    return PRISM if PRISM.exists() else None


def prism_command(port: int) -> list[str]:
    return [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port),
            "--verboseLevel", "error", str(ROOT / "spec" / "openapi.yaml")]  # fmt: skip


def why_no_prism(wanted: bool) -> str:
    if not wanted:
        return "not run in quick mode"
    return f"{PRISM.relative_to(ROOT)} not installed (make bench installs it with npm)"


if __name__ == "__main__":
    serve_bare()
