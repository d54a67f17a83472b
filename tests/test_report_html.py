"""report.html shows the root cause first (issue 18, "Reading a failure").

A FAIL that blocked others comes before what it blocked, with the chain drawn
as an indented tree; each skip reason appears once per cause; one stacked bar
per requirement area; ids link to the generated docs' catalogue; a PASS row
never says "Skipped". Rendered in headless Chromium, screenshot kept under
``reports/``.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance import Redactor
from conformance.judging.results import Failure, RunResult
from conformance.reporting.files import write_reports
from conformance.reporting.html import DOCS_PAGE, area, report_html
from conformance.reporting.junit import junit_xml
from tests.chromium import browse, chromium
from tests.servers.broken import BROKEN
from tests.test_broken_servers import judge

ROOT = Path(__file__).resolve().parent.parent
SHARED_REASON = "the target refuses header and credentials together"


def _blocked(result: RunResult, rid: str, check: str, causes: list[str]) -> None:
    reason = f"{check}: blocked, {', '.join(causes)} failed or could not be judged"
    result.record_blocked(rid, reason, causes)


def chained_run() -> RunResult:
    """RK-HTTP-001 fails alone; RK-ROT-006 fails and blocks RK-AUTH-003 (earlier
    in the catalogue), which blocks RK-AUTH-008 in turn; RK-ROT-004 passes but
    carries a note; three SHOULD/MUST ids share one skip reason."""
    result = RunResult("server", "http://127.0.0.1:8080", seed=3, strict=False)
    result.record_failure(Failure("RK-HTTP-001", "path_is_exact", "any case", "404", "200"))
    result.record_failure(
        Failure("RK-ROT-006", "refused_request_keeps_key", "a refusal rotated", "same", "new")
    )
    _blocked(result, "RK-AUTH-003", "header_name_case_is_ignored", ["RK-ROT-006"])
    _blocked(result, "RK-AUTH-008", "empty_fields_beside_header_are_ignored", ["RK-AUTH-003"])
    result.record_pass("RK-ROT-004")
    _blocked(result, "RK-ROT-004", "key_lifecycle_holds", ["RK-ROT-006"])
    for rid in ("RK-AUTH-009", "RK-HTTP-008", "RK-HTTP-009"):
        result.record_skip(rid, SHARED_REASON)
    result.record_failure(Failure("RK-FMT-005", "media_type", "text/html", "json", "html"))
    for rid in ("RK-HTTP-002", "RK-HTTP-003", "RK-KEY-001"):
        result.record_pass(rid)
    result.finish()
    return result


# -- a small DOM, from the standard library's parser ------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def walk(self) -> list[Node]:
        return [self, *(n for c in self.children for n in c.walk())]

    def find(self, tag: str, **attrs: str) -> list[Node]:
        return [
            n for n in self.walk()
            if n.tag == tag and all(n.attrs.get(k) == v for k, v in attrs.items())
        ]  # fmt: skip


VOID = {"meta", "br", "img", "hr", "input", "link"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def dom(page: str) -> Node:
    builder = _Builder()
    builder.feed(page)
    return builder.root


def _tree_item(root: Node, rid: str) -> Node:
    tree = root.find("ul", id="root-causes")[0]
    items = [li for li in tree.walk() if li.tag == "li" and _names(li) == rid]
    assert len(items) == 1, f"{rid} is drawn once in the tree"
    return items[0]


def _names(li: Node) -> str:
    """The id an <li> of the tree is about: its first link that is not nested deeper."""
    for child in li.children:
        if child.tag == "a":
            return child.all_text()
    return ""


# -- the page ----------------------------------------------------------------------


def test_root_cause_comes_first_and_the_chain_is_drawn() -> None:
    root = dom(report_html(chained_run(), Redactor()))
    tree = root.find("ul", id="root-causes")[0]
    order = [_names(li) for li in tree.walk() if li.tag == "li"]
    # the blocker first although RK-HTTP-001 comes earlier in the catalogue
    assert order[0] == "RK-ROT-006"
    assert order.index("RK-ROT-006") < order.index("RK-AUTH-003") < order.index("RK-AUTH-008")
    assert order.index("RK-AUTH-008") < order.index("RK-HTTP-001")
    # RK-AUTH-003 is drawn beneath RK-ROT-006, and RK-AUTH-008 beneath RK-AUTH-003
    rot = _tree_item(root, "RK-ROT-006")
    auth3 = _tree_item(root, "RK-AUTH-003")
    assert auth3 in rot.walk()
    assert _tree_item(root, "RK-AUTH-008") in auth3.walk()
    assert "blocked by RK-ROT-006" in auth3.all_text()
    # and the whole tree comes before the table of every requirement
    page = report_html(chained_run(), Redactor())
    assert page.index('id="root-causes"') < page.index("<h2>Requirements</h2>")


def test_each_skip_reason_appears_once_per_cause() -> None:
    page = report_html(chained_run(), Redactor())
    assert page.count(SHARED_REASON) == 1  # three ids, one cause
    causes = dom(page).find("li", **{"class": "cause"})
    titles = [c.children[0].all_text() for c in causes]
    assert len(titles) == len(set(titles))
    shared = next(c for c in causes if SHARED_REASON in c.all_text())
    for rid in ("RK-AUTH-009", "RK-HTTP-008", "RK-HTTP-009"):
        assert rid in shared.all_text()


def test_one_stacked_bar_per_area() -> None:
    result = chained_run()
    root = dom(report_html(result, Redactor()))
    rows = root.find("tr", **{"class": "area"})
    assert [r.attrs["id"] for r in rows] == [f"area-{a}" for a in _areas(result)]
    for row in rows:
        segments = [n for n in row.walk() if n.tag == "span"]
        widths = [float(s.attrs["style"].split(":")[1].rstrip("%")) for s in segments]
        assert sum(widths) == pytest.approx(100, abs=0.05)
    auth = next(r for r in rows if r.attrs["id"] == "area-RK-AUTH")
    assert "3 skip" in auth.all_text()  # RK-AUTH-003, RK-AUTH-008, RK-AUTH-009
    kinds = {n.attrs["class"] for n in auth.walk() if n.tag == "span"}
    assert kinds == {"seg-skip"}


def _areas(result: RunResult) -> list[str]:
    seen: list[str] = []
    for req in result.ordered():
        if area(req.id) not in seen:
            seen.append(area(req.id))
    return seen


def test_a_pass_row_never_says_skipped_and_ids_link_to_the_catalogue() -> None:
    result = chained_run()
    root = dom(report_html(result, Redactor()))
    pass_rows = [n for n in root.walk() if n.tag == "tr" and n.attrs.get("class") == "row-pass"]
    assert {r.attrs["id"] for r in pass_rows} >= {"RK-ROT-004", "RK-KEY-001"}
    for row in pass_rows:
        assert "Skipped" not in row.all_text(), row.attrs["id"]
    note_row = next(r for r in pass_rows if r.attrs["id"] == "RK-ROT-004")
    assert "Notes" in note_row.all_text()
    skip_row = root.find("tr", id="RK-AUTH-009")[0]
    assert "Skipped" in skip_row.all_text()
    link = root.find("a", **{"class": "rid"})[0]
    assert link.attrs["href"] == f"{DOCS_PAGE}#{link.all_text().strip()}"


def test_docs_catalogue_anchors_every_id() -> None:
    """The links land on a row the generated docs have (docs/REPORTS.md)."""
    from conformance import catalogue
    from regenkey.docs.content import requirement_catalogue
    from regenkey.docs.model import Document, to_html

    page = to_html(Document("t", "", (requirement_catalogue(),)))
    for req in catalogue():
        assert f'<tr id="{req.id}">' in page, req.id


def test_runner_records_blocked_by_structurally() -> None:
    server = next(b for b in BROKEN if b.name == "old-keys-work")
    result = judge(server.make)
    assert result.requirements["RK-ROT-002"].failures
    assert result.requirements["RK-ROT-005"].blocked_by == ["RK-ROT-002"]
    assert result.requirements["RK-ROT-002"].time_s > 0  # measured per check
    suite = ET.fromstring(junit_xml(result, Redactor())).find("testsuite")
    assert suite is not None
    times = {
        c.attrib["name"].split(" ")[0]: float(c.attrib["time"]) for c in suite.iter("testcase")
    }
    assert times["RK-ROT-002"] > 0


# -- headless Chromium ---------------------------------------------------------------


def _png_rows_vary(data: bytes) -> int:
    """How many distinct byte values the decoded image data holds (1-2: blank)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


def test_the_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    exe = chromium()
    out = ROOT / "reports" / "test-report-html"
    paths = write_reports(chained_run(), out, Redactor())
    page = paths["html"].resolve().as_uri()
    shown = browse(exe, tmp_path / "profile", "--dump-dom", page)
    assert shown.returncode == 0, shown.stderr[-2000:]
    root = dom(shown.stdout)
    order = [_names(li) for li in root.find("ul", id="root-causes")[0].walk() if li.tag == "li"]
    assert order[0] == "RK-ROT-006"
    assert len(root.find("tr", **{"class": "area"})) == len(_areas(chained_run()))
    shot = out / "report.png"
    shot.unlink(missing_ok=True)
    taken = browse(exe, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,1600",
                    page)  # fmt: skip
    assert taken.returncode == 0, taken.stderr[-2000:]
    data = shot.read_bytes()
    assert _png_rows_vary(data) > 16, "the screenshot is blank"
