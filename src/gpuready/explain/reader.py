"""Reading logs of any size: bytes in, blocks of whole decoded lines out, memory bounded.

Logs come from everywhere: UTF-8 from Linux, UTF-16 from PowerShell's `>` redirection,
cp1252 or GBK from a Windows console, gzip from CI artifacts, and now and then a binary
someone passed by mistake. Text is decoded with errors="replace" (a wrong byte never
stops the explanation), UTF-16 is recognised by its BOM or its zero bytes, gzip by its
magic number, and a file that is neither text nor one of those is refused with a message
(the command exits 2) instead of being "explained".
"""

from __future__ import annotations

import codecs
import gzip
import io
from typing import BinaryIO, Iterator

READ_SIZE = 1 << 20  # bytes per read
MAX_LINE_CARRY = 1 << 20  # a "line" longer than this is cut, so memory stays bounded
SNIFF = 8192


class NotTextError(ValueError):
    """The input is not a text log (binary data)."""


def sniff(head: bytes) -> str:
    """The encoding to read a log whose first bytes are `head` with, or raise NotTextError."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not head:
        return "utf-8"
    sample = head[:SNIFF]
    zeros = sample.count(0)
    if zeros:
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        half = len(sample) / 2
        # UTF-16 text without a BOM: ASCII characters leave a zero byte in every other position.
        if odd >= 0.4 * half and even <= 0.05 * half:
            return "utf-16-le"
        if even >= 0.4 * half and odd <= 0.05 * half:
            return "utf-16-be"
        raise NotTextError("contains NUL bytes: this looks like a binary file, not a text log")
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27, 8, 11))
    if control > 0.1 * len(sample):
        raise NotTextError("mostly control characters: this looks like a binary file, not a text log")
    return "utf-8"


def open_log(stream: BinaryIO) -> tuple[BinaryIO, bytes]:
    """Unwrap gzip when the stream is gzip-compressed; return the stream and its first bytes."""
    head = _peek(stream)
    if head[:2] == b"\x1f\x8b":
        gz = gzip.GzipFile(fileobj=_Prefixed(head, stream))
        try:
            inner_head = gz.read(SNIFF)
        except (OSError, EOFError) as exc:
            raise NotTextError(f"a broken gzip file ({exc})") from None
        return _Prefixed(inner_head, gz), inner_head  # type: ignore[return-value]
    return _Prefixed(head, stream), head  # type: ignore[return-value]


def blocks(stream: BinaryIO, *, echo: BinaryIO | None = None, raw: bool = False) -> Iterator[str]:
    """Decoded blocks of whole lines from a binary stream (the last block may lack its final newline).

    `echo` receives every byte read, as read, and `raw` skips the look at the first bytes (for
    `explain -- CMD`, which shows the command's output live while explaining it: a command's
    output is text, and waiting for 8 KB of it before showing anything would not be live).
    """
    if raw:
        encoding = "utf-8"
    else:
        stream, head = open_log(stream)
        encoding = sniff(head)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    carry = ""
    while True:
        data = _read(stream)
        if echo is not None and data:
            try:
                echo.write(data)
                echo.flush()
            except (OSError, ValueError):
                echo = None
        final = not data
        text = carry + decoder.decode(data, final=final)
        if final:
            if text:
                yield text
            return
        cut = text.rfind("\n")
        if cut < 0:
            if len(text) > MAX_LINE_CARRY:  # no newline in a megabyte: cut it, as a line of its own
                yield text + "\n"
                carry = ""
            else:
                carry = text
            continue
        yield text[: cut + 1]
        carry = text[cut + 1 :]


def _read(stream: BinaryIO) -> bytes:
    read1 = getattr(stream, "read1", None)
    try:
        return read1(READ_SIZE) if read1 is not None else stream.read(READ_SIZE)
    except (EOFError, gzip.BadGzipFile) as exc:  # a truncated .gz: keep what was read
        del exc
        return b""


def _peek(stream: BinaryIO) -> bytes:
    """Up to SNIFF bytes from the start of the stream (read, then handed back by _Prefixed)."""
    buf = b""
    while len(buf) < SNIFF:
        chunk = _read(stream)
        if not chunk:
            break
        buf += chunk
    return buf


class _Prefixed(io.RawIOBase):
    """A stream that first returns `prefix`, then the rest of `inner`."""

    def __init__(self, prefix: bytes, inner: BinaryIO) -> None:
        self._prefix = prefix
        self._inner = inner

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        if self._prefix:
            if size is None or size < 0 or size >= len(self._prefix):
                out, self._prefix = self._prefix, b""
            else:
                out, self._prefix = self._prefix[:size], self._prefix[size:]
            return out
        if size is None or size < 0:
            return _read(self._inner)
        read1 = getattr(self._inner, "read1", None)
        return read1(size) if read1 is not None else self._inner.read(size)

    def read(self, size: int = -1) -> bytes:
        return self.read1(size)

    def readinto(self, b) -> int:  # for io's buffered readers (gzip wraps us in one)
        data = self.read1(len(b))
        n = len(data)
        b[:n] = data
        return n
