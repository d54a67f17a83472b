"""Oversized requests against a running `regenkey serve` (64 KiB body limit):
a 10 MB body, 10,000 parameters, a 1 MB header. Each is refused early, on
a fraction of its bytes: the test sends only the first part and the answer
comes back without the rest. Never a 5xx, and the server keeps serving."""

from __future__ import annotations

import time
from pathlib import Path

from reference_impl.client import regenerate_api_key
from tests.reliability.figures import record
from tests.reliability.process import server
from tests.reliability.raw import Connection, NoResponse, Response, http_request

PATH = "/SMSApi/rest/regenerateAPIKey"
USER, PASSWORD = "limits-user", "Limits-pass-1"
FORM = ("Content-Type", "application/x-www-form-urlencoded")
TEN_MB = 10 * 1024 * 1024
QUICK_S = 1.0


def _head(method: str, target: str, *headers: tuple[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunked(total: int, size: int = 16 * 1024) -> bytes:
    return b"".join(b"%x\r\n" % size + b"a" * size + b"\r\n" for _ in range(total // size))


def cases() -> dict[str, tuple[bytes, int]]:
    """name -> (the bytes actually sent, the size the request claims or would have)."""
    ten_k = "&".join(f"p{i}=1" for i in range(10_000))  # 79 KB: over the body limit
    ten_k_small = "a=1&" * 10_000  # 40 KB: under it, so the parameter cap refuses it
    parts = (
        b"".join(
            b'--b\r\nContent-Disposition: form-data; name="p"\r\n\r\n1\r\n' for _ in range(10_000)
        )
        + b"--b--\r\n"
    )
    xml_fields = "<Account>" + "<a/>" * 10_000 + "</Account>"
    return {
        # 64 KiB of a declared 10 MB body: refused from Content-Length, before reading it
        "body-10mb-content-length": (
            _head("POST", PATH, FORM, ("Content-Length", str(TEN_MB))) + b"a" * 65536,
            TEN_MB,
        ),
        # 256 KiB of a 10 MB chunked body: refused once past the limit
        "body-10mb-chunked": (
            _head("POST", PATH, FORM, ("Transfer-Encoding", "chunked")) + _chunked(256 * 1024),
            TEN_MB,
        ),
        # 64 KiB of a 1 MB header (no end of headers yet)
        "header-1mb": (_head("GET", PATH)[:-2] + b"X-Big: " + b"h" * 65536, 1 << 20),
        "request-line-1mb": (b"GET " + PATH.encode() + b"?format=" + b"u" * 65536, 1 << 20),
        "headers-10k": (_head("GET", PATH, *[(f"X-H{i}", "1") for i in range(10_000)]), 0),
        "query-10k-parameters": (http_request("GET", f"{PATH}?{ten_k}"), 0),
        "form-10k-parameters-79kb": (http_request("POST", PATH, [FORM], ten_k.encode()), 0),
        "form-10k-parameters-40kb": (http_request("POST", PATH, [FORM], ten_k_small.encode()), 0),
        "form-10k-empty-parameters": (http_request("POST", PATH, [FORM], b"&" * 10_000), 0),
        "multipart-10k-parts": (
            http_request(
                "POST", PATH, [("Content-Type", "multipart/form-data; boundary=b")], parts
            ),
            0,
        ),
        "xml-10k-fields": (
            http_request("POST", PATH, [("Content-Type", "application/xml")], xml_fields.encode()),
            0,
        ),
    }


def refused(response: Response | None) -> bool:
    """An HTTP 4xx, an error envelope, or (response None) a closed connection."""
    if response is None:
        return True
    if 400 <= response.status < 500:
        return True
    return response.status == 200 and b"error" in response.body and b"apiKey" not in response.body


def test_oversized_requests_are_refused_early_and_the_server_keeps_serving(
    tmp_path: Path,
) -> None:
    figure: dict[str, dict[str, object]] = {}
    failures = []
    with server(tmp_path, [(USER, PASSWORD)]) as proc:
        before = proc.memory_kib("VmHWM")
        for name, (data, claimed) in cases().items():
            conn = Connection(proc.host, proc.port, timeout=10)
            started = time.monotonic()
            try:
                response: Response | None = conn.request(data)
                outcome = str(response.status) if response else "closed"
            except NoResponse as exc:
                response, outcome = None, f"closed ({exc.why})"
            finally:
                conn.close()
            elapsed = time.monotonic() - started
            figure[name] = {
                "answer": outcome,
                "seconds": round(elapsed, 3),
                "bytes_sent": len(data),
                "bytes_claimed": claimed,
            }
            if not refused(response) or (response and response.status >= 500):
                failures.append(f"{name}: {outcome} {response.body[:100] if response else b''!r}")
            if elapsed > QUICK_S or outcome.startswith("closed (timeout"):
                failures.append(f"{name}: took {elapsed:.2f} s")
            # the server keeps serving, request after request
            assert regenerate_api_key(proc.url, user_id=USER, password=PASSWORD).api_key
        growth = (proc.memory_kib("VmHWM") - before) / 1024
    record(
        "limits", {"cases": figure, "peak_rss_growth_mib": round(growth, 1), "failures": failures}
    )
    assert failures == []
    assert growth < 50
