"""Traceability: ids are unique and stable, everything cites real ids, and
every MUST/SHOULD is encoded by an artefact or a check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import conformance.client.checks  # registers the client checks
import conformance.server.checks  # registers the server checks
import conformance.vectors.parser_checks  # noqa: F401  (registers check-parser's checks)
from conformance import Level, Party, catalogue, is_known
from conformance.judging.registry import get_check, registered_checks
from conformance.judging.rules import RESPONSE_RULES, response_rule_ids
from conformance.spec.catalogue import ID_PATTERN
from conformance.validation.selfcheck import SELF_CHECKS, resolve_pointer, run_self_checks

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(r"RK-[A-Z]+-[0-9]{3}")


def test_every_requirement_id_exists_once_and_is_well_formed() -> None:
    ids = [r.id for r in catalogue()]
    assert len(ids) == len(set(ids))
    assert all(ID_PATTERN.match(i) for i in ids)


def test_ids_are_never_renumbered() -> None:
    # Ids are append-only: these existed when the catalogue was first published.
    first_published = {
        "RK-HTTP-001", "RK-HTTP-010", "RK-PARAM-001", "RK-AUTH-001", "RK-AUTH-009",
        "RK-FMT-002", "RK-JSON-002", "RK-XML-002", "RK-PLAIN-001", "RK-SUCC-002",
        "RK-KEY-001", "RK-ERR-004", "RK-ROT-002", "RK-SAFE-002", "RK-CLI-003",
    }  # fmt: skip
    assert first_published <= {r.id for r in catalogue()}


def test_every_must_and_should_names_what_encodes_it() -> None:
    for req in catalogue():
        if req.level is not Level.MAY:
            assert req.encodes, req.id


def test_every_requirement_is_quoted_or_marked_inferred_with_a_reason() -> None:
    for req in catalogue():
        assert (req.source is None) == req.inferred, req.id
        assert not req.inferred or req.reason, req.id


@pytest.mark.parametrize(
    "directory", ["tests", "conformance", "reference_impl", "regenkey", "spec"]
)
def test_no_file_cites_an_unknown_id(directory: str) -> None:
    for path in (ROOT / directory).rglob("*"):
        if path.suffix not in {".py", ".yaml", ".json", ".xsd", ".lark", ".abnf", ".md"}:
            continue
        for rid in CITED.findall(path.read_text(encoding="utf-8")):
            assert is_known(rid), f"{path.relative_to(ROOT)} cites unknown {rid}"


def test_self_checks_all_pass() -> None:
    for result in run_self_checks():
        assert result.ok, (result.label, result.problems)
    assert len(SELF_CHECKS) >= 6


@pytest.mark.parametrize(
    "pointer",
    [
        "schemas/success.schema.json#/properties/nope",
        "openapi.yaml#/paths/~1nope",
        "xsd/responses.xsd#NoSuchType",
        "grammar/plain.lark#NO_SUCH_TERMINAL",
        "grammar/plain.abnf#no-such-rule",
        "unknown.txt#x",
    ],
)
def test_pointer_resolver_rejects_what_does_not_exist(pointer: str) -> None:
    assert not resolve_pointer(pointer)


def test_quote_check_catches_an_invented_quote(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.validation import selfcheck

    monkeypatch.setattr(selfcheck, "page_text", lambda: "status=success only")
    problems = list(selfcheck._quotes())
    assert problems and all("not on the page" in p for p in problems)


# --- checks ------------------------------------------------------------------------

# Client requirements still without a client check. This set may only shrink:
# a new check must be taken off it. (Empty since the client suite, issue 5.)
CLIENT_CHECKS_NOT_YET_WRITTEN: set[str] = set()


def test_every_check_named_in_the_catalogue_exists_and_judges_that_id() -> None:
    missing = set()
    for req in catalogue():
        for name in req.checks:
            rule = RESPONSE_RULES.get(req.id)
            if rule is not None and rule.name == name:
                continue  # a per-response rule (conformance/judging/rules.py) is its check
            try:
                spec = get_check(name)
            except KeyError:
                missing.add(req.id)
                continue
            assert req.id in spec.requirement_ids, (req.id, name)
    assert missing <= CLIENT_CHECKS_NOT_YET_WRITTEN, sorted(missing - CLIENT_CHECKS_NOT_YET_WRITTEN)


def test_every_server_must_and_should_has_a_server_check() -> None:
    judged = {rid for c in registered_checks(Party.SERVER) for rid in c.requirement_ids}
    judged |= response_rule_ids()  # judged on every response of every check
    for req in catalogue():
        if req.level is not Level.MAY and req.applies_to_server():
            assert req.id in judged, req.id


def test_every_client_requirement_without_a_check_is_on_the_known_gap_list() -> None:
    judged = {rid for c in registered_checks(Party.CLIENT) for rid in c.requirement_ids}
    unjudged = {
        r.id for r in catalogue() if r.level is not Level.MAY and r.applies_to_client()
    } - judged
    assert unjudged <= CLIENT_CHECKS_NOT_YET_WRITTEN


def test_check_docstrings_start_with_their_first_id() -> None:
    for spec in registered_checks():
        assert spec.summary.startswith(spec.requirement_ids[0]), spec.name


# --- vectors -----------------------------------------------------------------------

# MUSTs about behaviour across requests (who may authenticate, what a request
# rotates, which format answers) are held by transcript vectors
# (conformance/vectors/transcripts.json, judged by conformance/vectors/transcripts.py).
# A MUST no vector holds yet would be listed here. This set may only shrink.
BEHAVIOURAL_MUSTS_WITHOUT_VECTORS: set[str] = set()


def _vector_ids() -> set[str]:
    import json
    from importlib.resources import files

    ids: set[str] = set()
    for entry in (files("conformance.vectors")).iterdir():
        if not entry.name.endswith(".json") or entry.name.endswith("schema.json"):
            continue
        for group in json.loads(entry.read_text(encoding="utf-8")):
            ids |= set(group.get("requirements", ()))
            for test in group["tests"]:
                ids |= set(test.get("requirements", ()))
                ids |= set(test.get("expect", {}).get("violates", ()))
    return ids


def test_every_must_has_a_vector_except_the_listed_behavioural_ones() -> None:
    musts = {r.id for r in catalogue() if r.level is Level.MUST}
    assert musts - _vector_ids() == BEHAVIOURAL_MUSTS_WITHOUT_VECTORS
