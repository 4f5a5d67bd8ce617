"""Text that is safe to show: on any console encoding, and with no control characters from outside.

Two faults this module exists for, both set up once, where gpuready's output streams are made
(`cli.run` calls `setup_streams`), not message by message:

- A console that cannot encode a character (Windows cp1252, cp437, LC_ALL=C without UTF-8 mode) must not
  crash a report at its first check mark: an encoding error handler writes ASCII stand-ins for the marks
  gpuready prints (✓ -> +, ✗ -> x, … -> ...) and a \\uXXXX escape for anything else.
- Strings from outside (a machine file, a GPU name, a child's output) can carry escape sequences that
  would clear the screen, retitle the terminal or hide text; a newline in one would start a new line of a
  generated script. `escape_controls` shows every control character as a visible escape (\\x1b), keeping
  newlines and tabs; `one_line` escapes newlines too, for text placed on one line of a generated file.

Rich's own styling codes never pass through `escape_controls`: the terminal console escapes the text of
what it renders and then adds its styles (see report.terminal.console).
"""

from __future__ import annotations

import codecs
import re
import sys
from typing import TextIO

ERRORS = "gpuready-ascii"

# Stand-ins for the non-ASCII characters gpuready itself prints, where the console cannot show them.
ASCII_FALLBACK = {
    "✓": "+", "✗": "x", "✔": "+", "✘": "x", "…": "...", "—": "--", "–": "-", "↓": "v", "↑": "^",
    "→": "->", "←": "<-", "µ": "u", "•": "*", "≥": ">=", "≤": "<=", "×": "x", "━": "-", "─": "-",
    "│": "|", "§": "S.", "‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " ",
}

# C0 controls except tab and newline, DEL, C1 controls (0x9b is an 8-bit CSI), and the bidi overrides
# and isolates that reorder what a reader sees ("Trojan source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every control character shown as an escape (ESC -> \\x1b); newlines and tabs kept."""
    if not text:
        return text
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(_escape_one, text)


def one_line(text: str) -> str:
    """`text` on one line, for a comment or a value in a generated file: newlines become \\n too."""
    return _CONTROL_OR_NEWLINE.sub(_escape_one, text or "")


def has_controls(text: str) -> bool:
    return bool(_CONTROL_OR_NEWLINE.search(text or ""))


def _fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start : exc.end]:
        sub = ASCII_FALLBACK.get(ch)
        if sub is None:
            code = ord(ch)
            sub = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        out.append(sub)
    return "".join(out), exc.end


codecs.register_error(ERRORS, _fallback)


class SafeStream:
    """A text stream that escapes control characters in what is written to it, then passes it on.

    It deliberately has no `.buffer`: click would otherwise write around it (on an ASCII console it
    re-wraps the binary buffer as UTF-8). `binary_stream` gives the raw bytes stream where one is needed.
    """

    def __init__(self, stream: TextIO) -> None:
        self.raw = stream

    def write(self, text: str) -> int:
        self.raw.write(escape_controls(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        try:
            return self.raw.isatty()
        except (ValueError, OSError):
            return False

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return getattr(self.raw, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return getattr(self.raw, "errors", None) or ERRORS

    @property
    def closed(self) -> bool:
        return getattr(self.raw, "closed", False)

    @property
    def name(self) -> str:
        return getattr(self.raw, "name", "<stream>")


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under a SafeStream (rich writes there: it escapes text itself and adds its styles)."""
    return stream.raw if isinstance(stream, SafeStream) else stream


def binary_stream(stream: TextIO):
    """The bytes stream under `stream` (for passing a child's output through unchanged)."""
    raw = raw_stream(stream)
    raw.flush()
    return raw.buffer


def setup_streams() -> None:
    """Make stdout and stderr safe for the whole run: unencodable characters fall back, controls are escaped."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None or isinstance(stream, SafeStream):
            continue
        try:
            stream.reconfigure(errors=ERRORS)
        except (AttributeError, ValueError, OSError):
            pass
        setattr(sys, name, SafeStream(stream))
