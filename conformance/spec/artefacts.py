"""Load the normative artefacts shipped in the ``regenkey_spec`` data package.

Everything under ``spec/`` is installed as package data and read here through
:mod:`importlib.resources`, never from the working directory. Each loader is
cached: the artefacts are immutable for the life of a process.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

import yaml
from lark import Lark

if TYPE_CHECKING:  # imported on first use: a plain call never loads it
    import xmlschema

SPEC_PACKAGE = "regenkey_spec"


def spec_root() -> Traversable:
    """The root of the installed spec folder."""
    return files(SPEC_PACKAGE)


def spec_file(relative: str) -> Traversable:
    """One spec file, by its path relative to ``spec/`` (``"xsd/account.xsd"``)."""
    node = spec_root()
    for part in relative.split("/"):
        node = node / part
    if not node.is_file():
        raise FileNotFoundError(f"spec file not found in {SPEC_PACKAGE}: {relative}")
    return node


def spec_text(relative: str) -> str:
    return spec_file(relative).read_text(encoding="utf-8")


def spec_bytes(relative: str) -> bytes:
    return spec_file(relative).read_bytes()


# libyaml's loader when PyYAML was built with it (every PyPI wheel is): the
# same documents, several times faster than the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def load_yaml(relative: str) -> Any:
    return yaml.load(spec_text(relative), Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)


@cache
def load_json(relative: str) -> Any:
    return json.loads(spec_text(relative))


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document (``spec/openapi.yaml``)."""
    document: dict[str, Any] = load_yaml("openapi.yaml")
    return document


def success_schema() -> dict[str, Any]:
    schema: dict[str, Any] = load_json("schemas/success.schema.json")
    return schema


def error_schema() -> dict[str, Any]:
    schema: dict[str, Any] = load_json("schemas/error.schema.json")
    return schema


@cache
def _xsd(relative: str) -> xmlschema.XMLSchema:
    # Read from text so that nothing depends on a filesystem path; the
    # schemas have no includes or imports.
    import xmlschema

    return xmlschema.XMLSchema(spec_text(relative))


def responses_xsd() -> xmlschema.XMLSchema:
    """The XSD of ``<generateApiKeySuccessResponse>`` and ``<errorResponse>``."""
    return _xsd("xsd/responses.xsd")


def account_xsd() -> xmlschema.XMLSchema:
    """The XSD of the ``<Account>`` request body."""
    return _xsd("xsd/account.xsd")


@cache
def plain_parser() -> Lark:
    """The executable plain-format grammar (``spec/grammar/plain.lark``)."""
    return Lark(spec_text("grammar/plain.lark"), parser="lalr", lexer="contextual")


def page_text() -> str:
    """The vendor's page: the only normative source."""
    return spec_text("page.txt")
