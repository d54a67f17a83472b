"""The scenario x requirement matrix of a client run, Autobahn style: one row
per scenario the kit served, one column per requirement, one cell per
verdict (what that scenario earned under that requirement; empty where it
judged nothing).

The client suite fills :attr:`RunResult.matrix` as its checks judge each
scenario (:meth:`conformance.client.checks_context.ClientContext.matrix`);
this module writes it for ``report.json`` (:func:`matrix_doc`) and the HTML
(:func:`matrix_html`). Scenario names hold no secret (format, outcome, way
of authenticating, rendering, media type); they pass through ``clean``
anyway, as every string a report shows does.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from conformance.judging.results import RunResult, Status
from conformance.spec.catalogue import catalogue

# What a cell shows in the HTML: a word as short as Autobahn's.
_CELL = {
    Status.PASS: ("pass", "ok"),
    Status.FAIL: ("fail", "FAIL"),
    Status.NON_STRICT: ("non-strict", "NS"),
    Status.SKIP: ("skip", "skip"),
    Status.ERROR: ("error", "ERR"),
}


def columns(result: RunResult) -> list[str]:
    """The requirement ids any scenario judged, in catalogue order."""
    judged = {rid for row in result.matrix.values() for rid in row}
    return [req.id for req in catalogue() if req.id in judged]


def matrix_doc(result: RunResult, clean: Callable[[str], str] = str) -> dict[str, Any] | None:
    """The matrix as ``report.json`` holds it, or None when the run has none:
    ``{"requirements": [ids], "scenarios": [{"name", "cells": {id: status}}]}``."""
    if not result.matrix:
        return None
    return {
        "requirements": columns(result),
        "scenarios": [
            {"name": clean(name), "cells": {rid: status.value for rid, status in row.items()}}
            for name, row in result.matrix.items()
        ],
    }


def matrix_html(result: RunResult, clean: Callable[[str], str] = str) -> str:
    """The matrix as an HTML section (empty when the run has none): rows are
    scenarios, columns requirement ids, each cell its verdict."""
    if not result.matrix:
        return ""
    ids = columns(result)
    head = "".join(f'<th scope="col"><span>{escape(rid)}</span></th>' for rid in ids)
    rows = []
    for name, row in result.matrix.items():
        cells = []
        for rid in ids:
            status = row.get(rid)
            if status is None:
                cells.append('<td class="cell none"></td>')
                continue
            css, word = _CELL[status]
            title = escape(f"{rid}: {status.value}")
            cells.append(f'<td class="cell {css}" title="{title}">{word}</td>')
        rows.append(f'<tr><th scope="row">{escape(clean(name))}</th>{"".join(cells)}</tr>')
    return (
        f'<section class="matrix"><style>{MATRIX_CSS}</style><h2>Scenarios x requirements</h2>'
        f"<p>{len(result.matrix)} scenarios, {len(ids)} requirements: one cell per "
        "verdict a scenario earned (ok, FAIL, NS = non-strict, ERR = error).</p>"
        f'<table class="matrix"><thead><tr><th scope="col">scenario</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


MATRIX_CSS = (
    "table.matrix{border-collapse:collapse;font-size:12px}"
    "table.matrix td.cell{text-align:center;padding:1px 4px;border:1px solid #ddd}"
    "table.matrix th{text-align:left;padding:1px 4px;font-weight:normal}"
    ".cell.pass{background:#e6f4ea}.cell.fail{background:#fce8e6;font-weight:bold}"
    ".cell.non-strict{background:#fef7e0}.cell.error{background:#e8eaed}"
)
