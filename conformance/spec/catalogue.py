"""The requirement catalogue (``spec/requirements.yaml``) as typed objects."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import metadata
from importlib.resources.abc import Traversable

from conformance.errors import CatalogueError
from conformance.spec.artefacts import load_yaml, spec_root

ID_PATTERN = re.compile(r"^RK-[A-Z]+-[0-9]{3}$")
DISTRIBUTION = "regenkey-kit"

# The artefacts that response bodies are validated against: a pointer into
# one of them names exactly one requirement.
VALIDATED_ARTEFACTS = ("schemas/", "xsd/responses.xsd#", "grammar/plain.lark#")


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


class Party(StrEnum):
    SERVER = "server"
    CLIENT = "client"
    BOTH = "both"


@dataclass(frozen=True)
class Requirement:
    """One normative sentence with its stable id."""

    id: str
    level: Level
    applies_to: Party
    title: str
    text: str
    source: str | None
    inferred: bool
    reason: str | None
    encodes: tuple[str, ...]

    def applies_to_server(self) -> bool:
        return self.applies_to in (Party.SERVER, Party.BOTH)

    def applies_to_client(self) -> bool:
        return self.applies_to in (Party.CLIENT, Party.BOTH)

    @property
    def checks(self) -> tuple[str, ...]:
        """Names of the checks the catalogue says encode this requirement."""
        return tuple(e.removeprefix("check:") for e in self.encodes if e.startswith("check:"))

    @property
    def artefact_pointers(self) -> tuple[str, ...]:
        return tuple(e for e in self.encodes if not e.startswith("check:"))


@cache
def catalogue() -> tuple[Requirement, ...]:
    """Every requirement, in catalogue order."""
    raw = load_yaml("requirements.yaml")
    out: list[Requirement] = []
    for entry in raw["requirements"]:
        rid = entry.get("id", "?")
        if not ID_PATTERN.match(rid):
            raise CatalogueError(f"malformed requirement id: {rid!r}")
        inferred = bool(entry.get("inferred", False))
        if inferred == ("source" in entry):
            raise CatalogueError(f"{rid}: give exactly one of 'source' or 'inferred: true'")
        if inferred and not entry.get("reason"):
            raise CatalogueError(f"{rid}: an inferred requirement needs a 'reason'")
        out.append(
            Requirement(
                id=rid,
                level=Level(entry["level"]),
                applies_to=Party(entry["applies_to"]),
                title=entry["title"],
                text=entry["text"],
                source=entry.get("source"),
                inferred=inferred,
                reason=entry.get("reason"),
                encodes=tuple(entry.get("encodes", ())),
            )
        )
    return tuple(out)


@cache
def _by_id() -> dict[str, Requirement]:
    index: dict[str, Requirement] = {}
    for req in catalogue():
        if req.id in index:
            raise CatalogueError(f"duplicate requirement id: {req.id}")
        index[req.id] = req
    return index


def requirement(rid: str) -> Requirement:
    """The requirement with id ``rid``; ``KeyError`` names unknown ids."""
    try:
        return _by_id()[rid]
    except KeyError:
        raise KeyError(f"unknown requirement id: {rid}") from None


def is_known(rid: str) -> bool:
    return rid in _by_id()


@cache
def pointer_index() -> dict[str, str]:
    """Artefact pointer -> the id of the requirement that it encodes.

    Validators use this to name the requirement an artefact error breaks, so
    the mapping from artefact to id lives in one place: the catalogue.
    """
    index: dict[str, str] = {}
    for req in catalogue():
        for pointer in req.artefact_pointers:
            if not pointer.startswith(VALIDATED_ARTEFACTS):
                continue
            if pointer in index:
                raise CatalogueError(f"{pointer} is claimed by {index[pointer]} and {req.id}")
            index[pointer] = req.id
    return index


# -- what judged a run: the kit, the catalogue and the spec artefacts ----------


@dataclass(frozen=True)
class KitIdentity:
    """What a report names as its judge (report.json ``kit``, JUnit
    properties, the HTML header, ``regenkey --version``)."""

    version: str  # the installed regenkey-kit distribution
    catalogue_version: str  # ``version:`` at the top of spec/requirements.yaml
    spec_sha256: str  # sha256 over every spec artefact file (see spec_digest)

    def line(self) -> str:
        return (
            f"regenkey-kit {self.version}, catalogue {self.catalogue_version}, "
            f"spec sha256 {self.spec_sha256}"
        )


def catalogue_version() -> str:
    """The catalogue's ``version:`` field."""
    raw = load_yaml("requirements.yaml")
    version = raw.get("version") if isinstance(raw, dict) else None
    if not isinstance(version, str | int | float) or isinstance(version, bool):
        raise CatalogueError("requirements.yaml needs a top-level 'version:'")
    return str(version)


def _spec_files(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for child in node.iterdir():
        name = prefix + child.name
        if child.is_dir():
            if child.name != "__pycache__":
                found += _spec_files(child, name + "/")
        elif child.is_file() and not child.name.endswith((".pyc", ".py")):
            found.append((name, child))
    return found


@cache
def spec_digest() -> str:
    """sha256 over the installed spec artefacts (read through
    importlib.resources), in sorted path order: each file's path, its length
    and its bytes, so that renaming or moving a file changes the digest too."""
    digest = hashlib.sha256()
    for name, node in sorted(_spec_files(spec_root()), key=lambda item: item[0]):
        data = node.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def kit_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a bare checkout, not installed
        return "unknown"


@cache
def kit_identity() -> KitIdentity:
    return KitIdentity(kit_version(), catalogue_version(), spec_digest())
