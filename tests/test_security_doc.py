"""docs/SECURITY.md names the test that proves each line: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")


def _cited() -> list[tuple[str, str]]:
    """(test file, test name) pairs: a name in backquotes belongs to the last file named."""
    pairs: list[tuple[str, str]] = []
    current = ""
    for token in re.finditer(r"\*(tests/[\w/]+\.py)\*|`(test_\w+)`", DOC):
        if token.group(1):
            current = token.group(1)
        elif current:
            pairs.append((current, token.group(2)))
    return pairs


def test_the_threat_model_cites_tests() -> None:
    assert len(_cited()) >= 25


def test_every_test_the_threat_model_cites_exists() -> None:
    missing = [
        f"{path}::{name}"
        for path, name in _cited()
        if not re.search(rf"def {name}\(", (ROOT / path).read_text(encoding="utf-8"))
    ]
    assert not missing, missing


def test_every_test_file_the_threat_model_cites_exists() -> None:
    files = set(re.findall(r"\*(tests/[\w/]+\.py)\*", DOC))
    assert files and all((ROOT / f).is_file() for f in files), files
