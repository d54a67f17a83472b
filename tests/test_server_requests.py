"""The reference server's request reading, in process: the fast paths it
takes for speed (docs/BENCHMARKS.md) agree with the library calls they stand
in for, and the access log's lines are what the log promises."""

from __future__ import annotations

import asyncio
import io
import re
from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reference_impl.server.accesslog import (
    _PATH_SAFE,
    FLUSH_AFTER_S,
    BufferedLines,
    _method,
    _path,
    timestamp,
)
from reference_impl.server.requests import MAX_FIELDS, read_head, split_fields

QUERY_TEXT = st.text(alphabet="ab=&%+;20 é\x00", max_size=40)


@given(QUERY_TEXT)
@example("a=1&&b=2")
@example("=b&a")
@example("&" * (MAX_FIELDS - 1))
@example("&" * MAX_FIELDS)
def test_split_fields_is_parse_qsl(text: str) -> None:
    try:
        expected = parse_qsl(text, keep_blank_values=True, errors="strict",
                             max_num_fields=MAX_FIELDS)  # fmt: skip
    except ValueError:
        with pytest.raises(ValueError):
            split_fields(text)
        return
    assert split_fields(text) == expected


def test_read_head_takes_the_first_of_each_and_the_first_non_empty_key() -> None:
    head = read_head([
        (b"content-type", b"text/xml"), (b"content-type", b"application/json"),
        (b"apikey", b""), (b"apikey", b"k1"), (b"apikey", b"k2"),
        (b"content-length", b"12"), (b"content-length", b"99"),
    ])  # fmt: skip
    assert (head.content_type, head.content_length, head.api_key) == ("text/xml", "12", "k1")
    assert head.has_body and not head.chunked
    assert "k1" not in repr(head)  # the key stays out of reprs and tracebacks


@pytest.mark.parametrize(
    ("headers", "has_body"),
    [
        ([], False),  # HTTP/1.1: no Content-Length, no Transfer-Encoding, no body
        ([(b"content-length", b"0")], False),
        ([(b"content-length", b"5")], True),
        ([(b"transfer-encoding", b"chunked")], True),  # the page's Node samples
        ([(b"content-type", b"application/json")], False),  # Node's GET sample
    ],
)
def test_a_body_is_read_only_when_the_head_announces_one(
    headers: list[tuple[bytes, bytes]], has_body: bool
) -> None:
    assert read_head(headers).has_body is has_body


@given(st.text(max_size=250))
@example("/SMSApi/rest/regenerateAPIKey")
@example("/" + "a" * 300)
def test_logged_paths_and_methods_are_quoted_as_quote_would(text: str) -> None:
    assert _path({"path": text}) == quote(text[:200], safe=_PATH_SAFE)
    assert _method({"method": text}) == quote(text[:20], safe="")


def test_buffered_lines_batch_what_comes_within_the_delay_into_one_write() -> None:
    class Counting(io.StringIO):
        writes = 0

        def write(self, s: str) -> int:
            self.writes += 1
            return super().write(s)

    stream = Counting()
    sink = BufferedLines(stream)

    async def three_lines() -> None:
        for n in range(3):
            sink(f"line {n}")
        await asyncio.sleep(0)
        sink("line 3")
        assert stream.getvalue() == ""  # nothing written yet: the lines wait together
        await asyncio.sleep(FLUSH_AFTER_S * 5)

    asyncio.run(three_lines())
    assert sink.writer.drain(5)
    lines = stream.getvalue().splitlines()
    assert stream.writes == 1 and len(lines) == 4
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert all(
        re.fullmatch(rf"{stamp} regenkey\.server line {n}", ln) for n, ln in enumerate(lines)
    )


def test_buffered_lines_outside_a_loop_write_at_once_and_survive_a_closed_stream() -> None:
    stream = io.StringIO()
    sink = BufferedLines(stream)
    sink("now")
    assert sink.writer.drain(5)
    assert stream.getvalue().endswith(" regenkey.server now\n")
    stream.close()
    sink("lost, quietly")  # a closed stderr must never fail a request
    sink.close(timeout=5)


def test_timestamp_is_what_logging_writes() -> None:
    assert timestamp(0.25).endswith(",250")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", timestamp())


def test_the_app_acknowledges_lifespan_events_and_ignores_websockets() -> None:
    """Served by a plain `uvicorn` (lifespan on), the app starts and stops cleanly."""
    from reference_impl.server import MemoryStore, build_app

    app = build_app(MemoryStore())
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(events)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    sent.clear()
    asyncio.run(app({"type": "websocket"}, receive, send))  # type: ignore[arg-type]
    assert sent == []


def test_a_log_writer_never_blocks_on_a_stalled_reader_and_counts_what_it_drops() -> None:
    """A pipe nobody reads: the writer's thread blocks, its callers never do."""
    import os
    import time

    from reference_impl.server.logwriter import LogWriter

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stream, os.fdopen(read_end, "rb", buffering=0) as reader:
        writer = LogWriter(stream, limit=64 * 1024)
        line = "x" * 99 + "\n"
        started = time.monotonic()
        for _ in range(5_000):  # 500 KB: the pipe (64 KiB) and the queue (64 KiB) fill up
            writer.put(line)
        assert time.monotonic() - started < 1.0
        assert writer.dropped_total > 0
        os.set_blocking(read_end, False)
        data, deadline = b"", time.monotonic() + 10
        while b"log lines dropped" not in data and time.monotonic() < deadline:
            try:
                data += reader.read(1 << 16) or b""
            except BlockingIOError:
                time.sleep(0.01)
        assert b"log lines dropped" in data
        count = int(data.split(b" log lines dropped")[0].rsplit(b" ", 1)[1])
        assert count == writer.dropped_total
        writer.close(timeout=1)
