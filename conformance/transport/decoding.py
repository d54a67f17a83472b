"""A response body's content coding removed, in bounded memory.

The kit asks every target for ``Accept-Encoding: identity``. A target that
compresses anyway is still read (``gzip``, ``x-gzip`` and ``deflate``: a
correct server may compress when a check asks it to), but never inflated
whole: :class:`ContentDecoder` feeds each piece through ``zlib`` with a
bounded output (``max_length``) and counts the *decoded* bytes against the
cap, so a 2 KB "decompression bomb" costs at most the cap. Stacked codings
(``gzip, gzip``) and codings it cannot decode (``br``, ``zstd``, ...) are the
target's fault: nothing was asked for that needs them.
"""

from __future__ import annotations

import zlib

from conformance.errors import ExchangeError


class ResponseTooLarge(ExchangeError):
    """The body, on the wire or decoded, is larger than the cap."""


_GZIP = (b"gzip", b"x-gzip")
_DEFLATE = (b"deflate",)


class ContentDecoder:
    """Feed raw body pieces; :meth:`finish` returns the decoded body.

    ``codings`` are the Content-Encoding tokens, lower-cased, in order.
    """

    def __init__(self, codings: list[bytes], max_body: int, where: str) -> None:
        self.max_body = max_body
        self.where = where
        self.raw_size = 0
        self.out = bytearray()
        named = [c for c in codings if c != b"identity"]
        if len(named) > 1:
            listed = ", ".join(c.decode("latin-1") for c in named)
            raise ExchangeError(
                f"{where} stacked content codings ({listed}); the kit asked for identity "
                "and decodes at most one"
            )
        self.coding = named[0] if named else None
        if self.coding is not None and self.coding not in _GZIP + _DEFLATE:
            raise ExchangeError(
                f"{where} used the content coding {self.coding.decode('latin-1')!r}, "
                "which the kit does not decode (it asked for identity)"
            )
        self._zlib: zlib._Decompress | None = None
        self._pending = b""  # deflate: the first bytes, until zlib or raw can be told apart

    def _too_large(self) -> ResponseTooLarge:
        kind = "decoded body" if self.coding else "body"
        return ResponseTooLarge(f"{self.where} sent a {kind} over {self.max_body} bytes")

    def feed(self, raw: bytes) -> None:
        self.raw_size += len(raw)
        if self.raw_size > self.max_body:
            raise self._too_large()
        if self.coding is None:
            self.out += raw
            return
        if self._zlib is None:
            self._pending += raw
            if len(self._pending) < 2:
                return
            raw, self._pending = self._pending, b""
            self._zlib = zlib.decompressobj(self._wbits(raw))
        self._inflate(raw)

    def _wbits(self, start: bytes) -> int:
        if self.coding in _GZIP:
            return 16 + zlib.MAX_WBITS
        # "deflate" is meant to be zlib-wrapped; many servers send raw deflate
        is_zlib = start[0] & 0x0F == 8 and (start[0] << 8 | start[1]) % 31 == 0
        return zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS

    def _inflate(self, data: bytes) -> None:
        assert self._zlib is not None
        while data:
            room = self.max_body - len(self.out)
            try:
                piece = self._zlib.decompress(data, room + 1)
            except zlib.error:
                raise ExchangeError(
                    f"{self.where} sent a body its content coding cannot decode"
                ) from None
            self.out += piece
            if len(self.out) > self.max_body:
                raise self._too_large()
            if self._zlib.eof:
                rest = self._zlib.unused_data
                if not rest or self.coding not in _GZIP:
                    return  # bytes after a deflate stream's end are ignored
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next gzip member
                data = rest
            else:
                data = self._zlib.unconsumed_tail
                if not piece and not data:
                    return

    def finish(self) -> bytes:
        if self.coding is None:
            return bytes(self.out)
        if self._zlib is None:
            if self.raw_size == 0:
                return b""  # an empty body needs no decoding
            raise ExchangeError(f"{self.where} sent a truncated compressed body")
        while not self._zlib.eof:  # what zlib still holds back, bounded like the rest
            room = self.max_body - len(self.out)
            piece = self._zlib.decompress(b"", room + 1)
            self.out += piece
            if len(self.out) > self.max_body:
                raise self._too_large()
            if not piece:
                break
        if not self._zlib.eof:
            raise ExchangeError(f"{self.where} sent a truncated compressed body")
        return bytes(self.out)
