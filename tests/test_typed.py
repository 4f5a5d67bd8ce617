"""typed.py: the one decoder, and the hooks a document (the machine file) adds its checks through."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import pytest

from gpuready import typed


@dataclass(frozen=True)
class Row:
    name: str
    size: int = 0
    tags: tuple[str, ...] = ()
    extra: typing.Mapping[str, int] | None = None


def test_types_are_checked_and_places_named():
    assert typed.decode(Row, {"name": "a", "tags": ["x"], "extra": {"k": 1}}, "f") == Row("a", 0, ("x",), {"k": 1})
    with pytest.raises(ValueError, match=r"f\.size: expected an integer"):
        typed.decode(Row, {"name": "a", "size": "1"}, "f")
    with pytest.raises(ValueError, match=r"f\.extra\.k: expected an integer"):
        typed.decode(Row, {"name": "a", "extra": {"k": "1"}}, "f")
    with pytest.raises(ValueError, match="missing key 'name'"):
        typed.decode(Row, {}, "f")


def test_unknown_names_are_few_and_escaped():
    with pytest.raises(ValueError) as exc:
        typed.decode(Row, {"name": "a", **{f"u{i}\x1b": 1 for i in range(20)}}, "f")
    text = str(exc.value)
    assert text.startswith("f: unknown key(s) ") and text.endswith(" ...") and "\x1b" not in text


def test_a_subclass_adds_checks_per_field():
    class Small(typed.Decoder):
        def check_raw(self, cls, name, raw, where):
            if isinstance(raw, list) and len(raw) > 2:
                raise self.error(f"{where}: too many")

        def check_field(self, cls, name, value, where):
            if name == "size" and value < 0:
                raise self.error(f"{where}: negative")

    dec = Small(ValueError)
    with pytest.raises(ValueError, match=r"r\.size: negative"):
        dec.decode(Row, {"name": "a", "size": -1}, "r")
    with pytest.raises(ValueError, match=r"r\.tags: too many"):
        dec.decode(Row, {"name": "a", "tags": ["1", "2", "3"]}, "r")
