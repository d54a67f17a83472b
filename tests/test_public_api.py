"""Public names are exported on purpose: this pins them."""

from __future__ import annotations

import pytest

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
            # the kit's exceptions, under one base (conformance/errors.py)
            "KitError", "Blocked", "CatalogueError", "CredentialsRefused", "ParserBroke",
            "RegistryError", "TargetError",
        ]
    )  # fmt: skip
    for name in conformance.__all__:
        assert hasattr(conformance, name), name


def test_every_exception_of_the_kit_has_one_base() -> None:
    """One exception base for the kit: every exception class conformance/ defines is a
    KitError, so ``except KitError`` catches all the kit raises on purpose."""
    import importlib
    import inspect
    import pkgutil

    found = []
    for info in pkgutil.walk_packages(conformance.__path__, "conformance."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                obj.__module__ == info.name
                and issubclass(obj, BaseException)
                and not issubclass(obj, Warning)
            ):
                found.append(obj)
    assert len(found) >= 8
    strays = [
        f"{c.__module__}.{c.__qualname__}" for c in found if not issubclass(c, conformance.KitError)
    ]
    assert strays == []


def test_entry_modules_are_pinned() -> None:
    """What regenkey/ may import besides the public API (tests/test_architecture.py)."""
    assert sorted(conformance.ENTRY_MODULES) == [
        "conformance.client.runner",
        "conformance.judging.registry",
        "conformance.judging.results",
        "conformance.judging.spellings",
        "conformance.reporting.files",
        "conformance.reporting.text",
        "conformance.server.recording",
        "conformance.server.runner",
        "conformance.spec.catalogue",
        "conformance.transport.exchange",
        "conformance.transport.loopback",
        "conformance.validation.selfcheck",
        "conformance.vectors.parser_suite",
        "conformance.vectors.suite",
    ]
    assert "ENTRY_MODULES" not in conformance.__all__  # names modules, exports nothing


def test_the_server_suite_is_configured_by_keyword() -> None:
    """One Account from the command line to the wire, a Target, and Live | None."""
    from conformance.server.runner import Account, Live, ServerSuiteConfig, Target

    target, account = Target(base_url="http://127.0.0.1:1"), Account("u", "p")
    with pytest.raises(TypeError):
        ServerSuiteConfig(target, account)  # type: ignore[misc]
    sandbox = ServerSuiteConfig(target=target, account=account, max_bad_logins=4)
    assert sandbox.live is None and sandbox.bad_login_budget == 4
    live = ServerSuiteConfig(
        target=target, account=account, live=Live(max_rotations=1, max_bad_logins=2)
    )
    assert live.bad_login_budget == 2
    with pytest.raises(ValueError, match=r"live\.max_bad_logins"):  # one budget, not two
        ServerSuiteConfig(
            target=target,
            account=account,
            live=Live(max_rotations=1, max_bad_logins=2),
            max_bad_logins=5,
        )
