"""Surviving mutants of ``reference_impl/server/`` left out of the mutation score
(bench/mutation.py), each with its kind and its reason.

The entries are in ``bench/mutation_excluded.json``, keyed by the module, the
source line and the mutated line (both stripped; the mutated line is empty
where mutmut deletes the line). Kinds:

* ``equivalent``: no answer changes (a type annotation, a decorator whose
  absence changes nothing for the concrete classes, a default that is always
  overridden, a branch no request reaches, a failure answered exactly as the
  refusal it replaces);
* ``spec-free``: a behaviour the page leaves to the implementation (a size
  limit, threading, text/xml beside application/xml): check-server must not
  fail it, or it would be a false red;
* ``off-the-wire``: behaviour no HTTP request reaches (the operator's account
  set-up, file modes, rows written by an older version, store methods only
  other commands call, what a repr or the log shows); tests/test_server_*.py
  judge those.

Every survivor not listed counts against the score: docs/BENCHMARKS.md
("Mutation testing") explains each.
"""

from __future__ import annotations

import json
from pathlib import Path

KINDS = ("equivalent", "spec-free", "off-the-wire")


def _load() -> dict[tuple[str, str, str], tuple[str, str]]:
    entries = json.loads((Path(__file__).parent / "mutation_excluded.json").read_text())
    table = {(e["module"], e["line"], e["mutated"]): (e["kind"], e["reason"]) for e in entries}
    assert all(kind in KINDS for kind, _ in table.values())
    return table


EXCLUDED: dict[tuple[str, str, str], tuple[str, str]] = _load()
