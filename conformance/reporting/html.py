"""``report.html``: a standalone page, root causes first, area bars, skip causes, the table.

:func:`report_html` writes the page's head and banner (the verdict, the target,
the kit that judged) and calls :func:`report_body` for the rest:

1. **Root causes**: every FAIL, NON-STRICT and ERROR as an indented tree, a
   requirement that blocked others first, with what it blocked (its
   :attr:`~conformance.judging.results.RequirementResult.blocked_by`) drawn beneath it;
2. **Requirement areas**: one stacked bar per area (``RK-HTTP``, ``RK-AUTH``, ...)
   of pass / fail / non-strict / skip / error, plain HTML and CSS;
3. **Why not judged**: each skip reason once, grouped by cause, with the ids it
   kept from being judged; a note a PASS requirement carries is listed here
   too (as a note: a PASS row never says "Skipped");
4. the table of every requirement, each id linked to its catalogue entry in
   the generated docs (:data:`DOCS_PAGE`, see docs/REPORTS.md).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from urllib.parse import quote

from conformance.judging.redaction import Redactor
from conformance.judging.results import (
    Failure,
    HttpMessage,
    RequirementResult,
    RunResult,
    Status,
    Verdict,
)
from conformance.reporting import scripts as report_scripts
from conformance.reporting.document import status_counts
from conformance.reporting.matrix import matrix_html
from conformance.reporting.text import Clean, first_line, printable, redact_message
from conformance.spec.catalogue import kit_identity

#: Where ``regenkey docs --out reports/docs`` puts the reference, seen from
#: ``reports/<run>/report.html``; each catalogue row is anchored by its id.
DOCS_PAGE = "../docs/index.html"
FINDINGS = (Status.FAIL, Status.NON_STRICT, Status.ERROR)

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
pre { background: #f6f6f6; padding: .5em; white-space: pre-wrap; word-break: break-all; }
.status { font-weight: bold; text-transform: uppercase; }
.status-pass { color: #17692f; } .status-fail { color: #b00020; }
.status-non-strict { color: #a65e00; } .status-skip { color: #666; }
.status-error { color: #6a1b9a; }
.verdict-pass { color: #17692f; } .verdict-fail { color: #b00020; }
.verdict-error { color: #6a1b9a; } .verdict-incomplete { color: #a65e00; }
ul.tree, ul.tree ul { list-style: none; padding-left: 1.4em; margin: .2em 0; }
ul.tree ul { border-left: 2px solid #bbb; }
ul.tree li { margin: .25em 0; }
ul.tree ul > li::before { content: "\\2514\\2500 "; color: #999; }
.bar { display: flex; width: 24em; height: 1em; border: 1px solid #999; background: #eee; }
.bar span { display: block; height: 100%; }
.seg-pass { background: #2e9d4f; } .seg-fail { background: #d32f2f; }
.seg-non-strict { background: #f0a020; } .seg-skip { background: #b0b0b0; }
.seg-error { background: #8e44ad; }
.by { color: #555; font-size: .9em; }
"""


def e(text: str) -> str:
    return html.escape(printable(text), quote=True)


def area(rid: str) -> str:
    """``RK-HTTP-003`` -> ``RK-HTTP``."""
    return "-".join(rid.split("-")[:2])


def id_link(rid: str, docs: str = DOCS_PAGE) -> str:
    """The id, linked to its row in the generated docs' catalogue (each row of
    the catalogue table is anchored by its id)."""
    href = f"{docs}#{quote(rid)}"
    return f'<a class="rid" href="{e(href)}">{e(rid)}</a>'


def _status(status: Status) -> str:
    return f'<span class="status status-{e(status.value)}">{e(status.value.upper())}</span>'


# -- 1. root causes ------------------------------------------------------------


def _blocked_children(result: RunResult) -> dict[str, list[RequirementResult]]:
    children: dict[str, list[RequirementResult]] = {}
    for req in result.ordered():
        for cause in req.blocked_by:
            if cause != req.id:
                children.setdefault(cause, []).append(req)
    return children


def _descendants(rid: str, children: Mapping[str, list[RequirementResult]]) -> int:
    seen: set[str] = set()
    todo = [rid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child.id not in seen and child.id != rid:
                seen.add(child.id)
                todo.append(child.id)
    return len(seen)


def _node(rid: str, result: RunResult, r: Clean) -> str:
    req = result.requirements.get(rid)
    if req is None:
        return f"{id_link(rid)} <span class=by>(not selected in this run)</span>"
    what = ""
    if req.failures:
        what = first_line(r(req.failures[0].message))
    elif req.errors:
        what = first_line(r(req.errors[0]))
    by = f' <span class="by">blocked by {e(", ".join(req.blocked_by))}</span>' * bool(
        req.blocked_by
    )
    return (
        f'{_status(req.status)} <a href="#{e(rid)}">{e(rid)}</a> {e(r(req.title))}'
        f"{': ' + e(what) if what else ''}{by}"
    )


def root_causes(result: RunResult, r: Clean) -> str:
    """Findings as a tree: a requirement that blocked others comes first, and
    what it blocked is drawn beneath it (recursively; each id once)."""
    children = _blocked_children(result)
    roots = [q.id for q in result.ordered() if q.status in FINDINGS]
    roots += [c for c in children if c not in result.requirements]  # causes not selected
    for req in result.ordered():  # an unjudged cause (SKIP, blocked by nothing)
        if req.id in children and req.status is Status.SKIP and not req.blocked_by:
            roots.append(req.id)
    order = {rid: n for n, rid in enumerate(roots)}
    roots.sort(key=lambda rid: (-_descendants(rid, children), order[rid]))
    shown: set[str] = set()

    def tree(rid: str) -> str:
        shown.add(rid)
        kids = [c.id for c in children.get(rid, []) if c.id not in shown]
        shown.update(kids)
        inner = "".join(tree(k) for k in kids)
        return f"<li>{_node(rid, result, r)}{f'<ul>{inner}</ul>' if inner else ''}</li>"

    items = "".join(tree(rid) for rid in roots if rid not in shown)
    if not items:
        return "<h2>Root causes</h2><p>No requirement failed.</p>"
    return f'<h2>Root causes</h2>\n<ul class="tree" id="root-causes">{items}</ul>'


# -- 2. area bars ----------------------------------------------------------------


def area_bars(result: RunResult) -> str:
    areas: dict[str, dict[Status, int]] = {}
    for req in result.ordered():
        counts = areas.setdefault(area(req.id), dict.fromkeys(Status, 0))
        counts[req.status] += 1
    rows = []
    for name, counts in areas.items():
        total = sum(counts.values())
        segments = "".join(
            f'<span class="seg-{e(s.value)}" style="width:{100 * n / total:.2f}%" '
            f'title="{n} {e(s.value)}"></span>'
            for s, n in counts.items()
            if n
        )
        words = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
        rows.append(
            f'<tr class="area" id="area-{e(name)}"><td>{e(name)}</td>'
            f'<td><div class="bar">{segments}</div></td><td>{e(words)}</td></tr>'
        )
    return (
        "<h2>Requirement areas</h2>\n<table><thead><tr><th>Area</th><th>Outcome</th>"
        f"<th>Counts</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


# -- 3. skip causes ----------------------------------------------------------------


def _shown(reason: str, causes: list[str]) -> str:
    """The runner's reason for a blocked check names the check only: the cause
    it repeats is the group's title."""
    check, _, rest = reason.partition(": ")
    if causes and rest == f"blocked, {', '.join(causes)} failed or could not be judged":
        return f"not run: {check}"
    return reason


def reason_groups(result: RunResult) -> list[tuple[str, list[str], list[str]]]:
    """(title, reasons, ids) per cause: every skip reason (or note) in exactly one."""
    groups: dict[object, tuple[str, list[str], list[str]]] = {}
    where: dict[str, object] = {}
    ordered = result.ordered()
    for req in ordered:  # SKIPs first: a note that repeats a skip reason joins its group
        if req.status is not Status.SKIP:
            continue
        for reason in req.skip_reasons:
            key: object = tuple(req.blocked_by) if req.blocked_by else reason
            if req.blocked_by:
                title = f"blocked: {', '.join(req.blocked_by)} failed or could not be judged"
            else:
                title = reason
            _, reasons, ids = groups.setdefault(key, (title, [], []))
            where.setdefault(reason, key)
            shown = _shown(reason, req.blocked_by)
            if shown not in reasons and reason != title:
                reasons.append(shown)
            if req.id not in ids:
                ids.append(req.id)
    for req in ordered:
        if req.status is Status.SKIP:
            continue
        for reason in req.skip_reasons:
            key = where.setdefault(reason, ("note", reason))
            _, _, ids = groups.setdefault(key, (reason, [], []))
            if req.id not in ids:
                ids.append(req.id)
    return list(groups.values())


def _anchors(groups: list[tuple[str, list[str], list[str]]]) -> dict[str, str]:
    """For each id, the causes (anchors) it is listed under."""
    anchors: dict[str, str] = {}
    for n, (_title, _reasons, ids) in enumerate(groups, 1):
        for rid in ids:
            anchors[rid] = anchors.get(rid, "") + f' <a href="#cause-{n}">cause {n}</a>'
    return anchors


def skip_causes(groups: list[tuple[str, list[str], list[str]]], r: Clean) -> str:
    if not groups:
        return ""
    items = []
    for n, (title, reasons, ids) in enumerate(groups, 1):
        extra = "".join(f"<li>{e(r(reason))}</li>" for reason in reasons)
        links = ", ".join(f'<a href="#{e(rid)}">{e(rid)}</a>' for rid in ids)
        items.append(
            f'<li id="cause-{n}" class="cause"><b>{e(r(title))}</b>'
            f"{f'<ul>{extra}</ul>' if extra else ''}<div>ids: {links}</div></li>"
        )
    return f"<h2>Why not judged</h2>\n<ol>{''.join(items)}</ol>"


# -- 4. the table ----------------------------------------------------------------


def _http_block(label: str, message: HttpMessage | None) -> str:
    if message is None:
        return ""
    lines = [message.start_line, *(f"{n}: {v}" for n, v in message.headers), "", message.body]
    return f"<h4>{e(label)}</h4><pre>{e(chr(10).join(lines))}</pre>"


def failure_html(f: Failure, r: Clean, script: str | None = None) -> str:
    seed = f" (seed {f.seed})" if f.seed is not None else ""
    parts = [
        f"<details><summary>{e(r(f.requirement_id))} ({e(r(f.check))}): "
        f"{e(r(first_line(f.message)))}</summary>",
        f"<pre>{e(r(f.message))}</pre>",
        f"<p><b>Expected:</b></p><pre>{e(r(f.expected))}</pre>",
        f"<p><b>Actual:</b></p><pre>{e(r(f.actual))}</pre>",
        _http_block("Request", redact_message(f.request, r)),
        _http_block("Response", redact_message(f.response, r)),
    ]
    if f.reproduction:
        parts.append(f"<h4>Reproduce{e(seed)}</h4><pre>{e(r(f.reproduction))}</pre>")
    if script:
        parts.append(
            f'<p class="replay">Replay the whole sequence ({len(f.sequence)} requests): '
            f'<a href="{e(script)}">{e(script)}</a>, <code>bash {e(script)}</code> with '
            "REGENKEY_PASSWORD and REGENKEY_API_KEY set</p>"
        )
    parts.append("</details>")
    return "\n".join(p for p in parts if p)


def row_html(
    req: RequirementResult, r: Clean, anchors: Mapping[str, str], scripts: Mapping[int, str]
) -> str:
    status = req.status.value
    notes = [failure_html(f, r, scripts.get(id(f))) for f in req.failures]
    if req.blocked_by:
        notes.append(f'<p class="by">blocked by {e(", ".join(req.blocked_by))}</p>')
    if req.skip_reasons:
        word = "Skipped" if req.status is Status.SKIP else "Notes"
        notes.append(f"<p>{word}: see{anchors.get(req.id, '')}</p>")
    notes += [f"<p>Error: {e(r(x))}</p>" for x in req.errors]
    return (
        f'<tr id="{e(req.id)}" class="row-{e(status)}"><td>{id_link(req.id)}</td>'
        f"<td>{e(req.level.value)}</td><td>{e(r(req.title))}</td>"
        f'<td class="status status-{e(status)}">{e(status.upper())}</td>'
        f"<td>{req.checks_run}</td><td>{''.join(notes)}</td></tr>"
    )


def report_body(result: RunResult, r: Clean, scripts: Mapping[int, str]) -> str:
    """Everything below the banner; ``scripts`` names each failure's replay script."""
    groups = reason_groups(result)
    anchors = _anchors(groups)
    rows = "\n".join(row_html(req, r, anchors, scripts) for req in result.ordered())
    return f"""{root_causes(result, r)}
{area_bars(result)}
{skip_causes(groups, r)}
<h2>Requirements</h2>
<table><thead><tr><th>Id</th><th>Level</th><th>Title</th><th>Status</th><th>Checks</th>
<th>Details</th></tr></thead>
<tbody>
{rows}
</tbody></table>
{matrix_html(result, r)}"""


def _kit_html() -> str:
    kit = kit_identity()
    return (
        f'<p class="kit">Judged by regenkey-kit <code>{e(kit.version)}</code> &middot; '
        f"catalogue <code>{e(kit.catalogue_version)}</code> &middot; "
        f"spec sha256 <code>{e(kit.spec_sha256)}</code></p>"
    )


def report_html(result: RunResult, redactor: Redactor) -> str:
    """A standalone HTML page: no network resources, everything escaped."""
    r = redactor
    counts = ", ".join(f"{n} {word.upper()}" for word, n in status_counts(result).items())
    body = report_body(result, r, report_scripts.script_names(result))
    suite = e(r(result.suite))
    verdict = e(result.verdict.value)
    faults = "".join(f"<p>Run fault: {e(r(f))}</p>" for f in result.run_failures)
    unjudged = [req.id for req in result.unjudged()]
    if unjudged and result.verdict is Verdict.INCOMPLETE:
        faults += f"<p>Not judged (INCOMPLETE): {e(', '.join(unjudged))}</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>regenkey {suite} report</title>
<style>{CSS}</style></head>
<body>
<h1>regenkey {suite} suite: <span class="verdict-{verdict}">{verdict.upper()}</span></h1>
<p>Target: <code>{e(r(result.target))}</code> &middot; seed <code>{result.seed}</code>
&middot; strict: {"yes" if result.strict else "no"} &middot; {result.cases} cases
&middot; {result.duration_s:.2f} s</p>
{_kit_html()}
<p>{e(counts)}</p>
{faults}
{body}
</body></html>
"""
