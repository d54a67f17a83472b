"""Build the HTTP request for one regeneration, through the kit's wire layer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conformance import Encoding, Format, RequestSpec, WireRequest, build


class Method(StrEnum):
    GET = "GET"
    POST = "POST"


@dataclass(frozen=True)
class Credentials:
    """userId and password, or an API key (RK-AUTH-001, RK-AUTH-002)."""

    user_id: str | None = None
    password: str | None = None
    api_key: str | None = None

    def __post_init__(self) -> None:
        has_pair = self.user_id is not None and self.password is not None
        if self.api_key is None and not has_pair:
            raise ValueError("give user_id and password, or api_key")
        if (self.user_id is None) != (self.password is None):
            raise ValueError("user_id and password go together")
        if self.api_key is not None and has_pair:
            raise ValueError("give user_id and password, or api_key, not both (RK-AUTH-011)")


def request_spec(
    credentials: Credentials, fmt: Format, method: Method, encoding: Encoding
) -> RequestSpec:
    """The logical request: the key only in the apiKey header (RK-AUTH-010),
    the exact parameter names (RK-PARAM-001), the format asked for (RK-FMT-006)."""
    if method is Method.GET and encoding is not Encoding.QUERY:
        raise ValueError("a GET carries its parameters in the query (encoding='query')")
    if encoding is Encoding.RAW:
        raise ValueError("encoding must be query, form, multipart or xml")
    params: tuple[tuple[str, str], ...] = ()
    if credentials.user_id is not None and credentials.password is not None:
        params = (("userId", credentials.user_id), ("password", credentials.password))
    params += (("format", fmt.value),)
    headers = (("apiKey", credentials.api_key),) if credentials.api_key is not None else ()
    return RequestSpec(method=method.value, encoding=encoding, params=params, headers=headers)


def prepare(
    base_url: str, credentials: Credentials, fmt: Format, method: Method, encoding: Encoding
) -> WireRequest:
    """The request's bytes; values URL-encoded where they travel in a URL or form."""
    return build(base_url, request_spec(credentials, fmt, method, encoding))
