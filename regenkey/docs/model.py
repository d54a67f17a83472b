"""A small document model, written out as Markdown and as one standalone HTML page.

Both renderings come from the same blocks, so the page and the Markdown never
disagree. Inline text knows one markup only: `code` between backticks. A code
block may carry a sample name; the Markdown writes it into the fence's info
string (```` ```php sample=php ````), where the tests find the exact code to run.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Heading:
    text: str
    id: str = ""


@dataclass(frozen=True)
class Items:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Code:
    lang: str
    text: str
    sample: str = ""  # the name of an executable sample, or ""


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_ids: tuple[str, ...] = ()  # an HTML anchor per row (the catalogue: each id)


Block = Para | Heading | Items | Code | Table


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    title: str
    intro: str
    sections: tuple[Section, ...] = field(default=())


# --- Markdown -------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_block(block: Block) -> str:
    if isinstance(block, Para):
        return block.text
    if isinstance(block, Heading):
        anchor = f'<a id="{block.id}"></a>\n' if block.id else ""
        return f"{anchor}### {block.text}"
    if isinstance(block, Items):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, Code):
        info = block.lang + (f" sample={block.sample}" if block.sample else "")
        fence = "````" if "```" in block.text else "```"
        return f"{fence}{info}\n{block.text.rstrip(chr(10))}\n{fence}"
    head = "| " + " | ".join(_md_cell(h) for h in block.header) + " |"
    rule = "| " + " | ".join("---" for _ in block.header) + " |"
    rows = ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
    return "\n".join([head, rule, *rows])


def to_markdown(doc: Document) -> str:
    parts = [f"# {doc.title}", doc.intro, "## Contents"]
    parts.append("\n".join(f"- [{s.title}](#{s.id})" for s in doc.sections))
    for section in doc.sections:
        parts.append(f'<a id="{section.id}"></a>\n## {section.title}')
        parts += [_md_block(b) for b in section.blocks]
    return "\n\n".join(parts) + "\n"


# --- HTML -----------------------------------------------------------------------------

CSS = """
body{font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;
background:#f7f8fa}
main{max-width:1000px;margin:0 auto;padding:1.5em 2em 4em;background:#fff;
box-shadow:0 0 12px rgba(0,0,0,.06)}
h1{font-size:1.9em;margin:.3em 0 .2em}h2{font-size:1.4em;border-bottom:2px solid #e4e7ec;
padding-bottom:.2em;margin-top:2em}h3{font-size:1.1em;margin-top:1.6em}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f6;
padding:.1em .3em;border-radius:3px}
pre{background:#0f1720;color:#e6edf3;padding:.9em 1em;border-radius:6px;overflow-x:auto}
pre code{background:none;padding:0;color:inherit;white-space:pre}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:14px}
th,td{border:1px solid #dde1e7;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f1f3f6}tr:nth-child(even) td{background:#fafbfc}
nav ol{columns:2;padding-left:1.2em}a{color:#0b5cad}
.lang{display:inline-block;font-size:12px;color:#5b6573;margin-bottom:-.6em}
"""


def _inline(text: str) -> str:
    """Escape ``text`` and turn `code` spans into <code>."""
    out, last = [], 0
    for match in _CODE.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        out.append(f"<code>{html.escape(match.group(1))}</code>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _html_block(block: Block) -> str:
    if isinstance(block, Para):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Heading):
        anchor = f' id="{html.escape(block.id)}"' if block.id else ""
        return f"<h3{anchor}>{_inline(block.text)}</h3>"
    if isinstance(block, Items):
        return "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Code):
        name = f' data-sample="{html.escape(block.sample)}"' if block.sample else ""
        label = f'<span class="lang">{html.escape(block.lang)}</span>' if block.lang else ""
        return f"{label}<pre{name}><code>{html.escape(block.text.rstrip(chr(10)))}</code></pre>"
    head = "".join(f"<th>{_inline(h)}</th>" for h in block.header)
    anchors = block.row_ids or ("",) * len(block.rows)
    rows = "".join(
        (f'<tr id="{html.escape(anchor)}">' if anchor else "<tr>")
        + "".join(f"<td>{_inline(c)}</td>" for c in row)
        + "</tr>"
        for anchor, row in zip(anchors, block.rows, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def to_html(doc: Document) -> str:
    """One standalone page: inline CSS, no script, nothing fetched."""
    nav = "".join(f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in doc.sections)
    sections = "\n".join(
        f'<section id="{s.id}">\n<h2>{html.escape(s.title)}</h2>\n'
        + "\n".join(_html_block(b) for b in s.blocks)
        + "\n</section>"
        for s in doc.sections
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{html.escape(doc.title)}</title>
<style>{CSS}</style></head>
<body><main>
<h1>{html.escape(doc.title)}</h1>
<p>{_inline(doc.intro)}</p>
<nav id="contents"><h2>Contents</h2><ol>{nav}</ol></nav>
{sections}
</main></body></html>
"""
