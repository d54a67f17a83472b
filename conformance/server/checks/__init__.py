"""The server checks. Importing this package registers every one of them."""

# Import order is run order: plain acceptance first, destructive rotation last.
from conformance.server.checks import http, formats, auth, safety, rotation  # noqa: I001

__all__ = ["auth", "formats", "http", "rotation", "safety"]
