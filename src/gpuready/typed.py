"""Frozen dataclasses to and from plain data (JSON, TOML), checked on the way in.

Three kinds of typed data cross gpuready's edges: the Machine (a saved machine file), the Plan
(`plan --json`, `install --plan FILE`, the offline manifest) and the knowledge rows (TOML). Each is
a tree of frozen dataclasses, and each must be read back with every name and type checked, so a
typo or a hand-edited file fails with the field named instead of a KeyError later. This is the one
decoder all three use; each passes its own error class (MachineFormatError, PlanFormatError,
KnowledgeError), and a class's `validate()` method, when it has one, checks values after the types.

A document that needs more than types (the machine file is input from anywhere: shapes, ranges and
size limits per field) subclasses `Decoder` and overrides its hooks (`check_raw`, `check_field`,
`mapping`, `show`, `place` and the message words), so the walk over the types stays in one place.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, Union

T = TypeVar("T")

MAX_NAMED = 5  # unknown names listed in a message; the rest is "..."


def encode(value: Any) -> Any:
    """A dataclass tree as JSON-ready data: tuples become lists, mappings dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Type hints per dataclass, resolved once (get_type_hints per row is a visible share of a cold load)."""
    return typing.get_type_hints(cls)


def _at(where: str) -> str:
    """The place prefix of a message ("" at a nameless root)."""
    return f"{where}: " if where else ""


def _name(value: Any) -> str:
    """A key from the input, for a message: escaped (it came from the file) and at most 60 characters."""
    text = repr(str(value))[1:-1]
    return text if len(text) <= 60 else text[:57] + "..."


_MAPPINGS = (dict, Mapping, typing.Mapping)  # get_origin gives collections.abc.Mapping; a bare annotation may be either


class Decoder:
    """How one kind of document is read back: its error class, how a field's place is written, and
    the checks it makes beyond types (hooks, no-ops here, that a subclass overrides)."""

    object_name = "a table/object"  # "expected a table/object, got list"
    unknown_words = "unknown key(s)"
    missing_words = "missing key"

    def __init__(self, error: type[ValueError] = ValueError, sep: str = ".") -> None:
        self.error = error
        self.sep = sep

    # --- hooks -------------------------------------------------------------------------------------

    def show(self, value: Any) -> str:
        """A value from the input, as an error message shows it."""
        return repr(value)

    def place(self, where: str, name: str) -> str:
        """The place of field `name` inside `where`."""
        return f"{where}{self.sep}{name}"

    def check_raw(self, cls: type, name: str, raw: Any, where: str) -> None:
        """Checks on a field's raw value before it is decoded (sizes: refuse before walking a huge list)."""

    def check_field(self, cls: type, name: str, value: Any, where: str) -> None:
        """Checks on a field's decoded value (shapes, choices, ranges); raise `self.error` naming `where`."""

    def mapping(self, tp: Any, value: Any, where: str) -> dict:
        """A mapping field: an object whose values are decoded as the mapping's value type."""
        if not isinstance(value, dict):
            raise self.error(f"{where}: expected {self.object_name}, got {type(value).__name__}")
        args = typing.get_args(tp)
        if len(args) == 2:
            return {str(k): self.decode(args[1], v, self.place(where, str(k))) for k, v in value.items()}
        return dict(value)

    # --- the walk over the types -------------------------------------------------------------------

    def decode(self, tp: Any, value: Any, where: str) -> Any:
        """`value` (parsed JSON or TOML) as type `tp`; raises `self.error` naming the place `where` on any mismatch."""
        error = self.error
        if dataclasses.is_dataclass(tp):
            return self._dataclass(tp, value, where)
        origin = typing.get_origin(tp)
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if value is None:
                if type(None) in typing.get_args(tp):
                    return None
                raise error(f"{where}: a value is required")
            first: ValueError | None = None
            for arg in args:
                try:
                    return self.decode(arg, value, where)
                except error as exc:
                    first = first or exc
            raise first or error(f"{where}: unexpected {self.show(value)}")
        if origin is tuple:
            if not isinstance(value, list):
                raise error(f"{where}: expected a list, got {type(value).__name__}")
            item = typing.get_args(tp)[0]
            return tuple(self.decode(item, v, f"{where}[{i}]") for i, v in enumerate(value))
        if origin in _MAPPINGS or tp in _MAPPINGS:
            return self.mapping(tp, value, where)
        if tp is bool:
            if not isinstance(value, bool):
                raise error(f"{where}: expected true/false, got {self.show(value)}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise error(f"{where}: expected an integer, got {self.show(value)}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise error(f"{where}: expected a number, got {self.show(value)}")
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                raise error(f"{where}: expected a string, got {self.show(value)}")
            return value
        return value  # Any

    def _dataclass(self, tp: Any, value: Any, where: str) -> Any:
        error = self.error
        if not isinstance(value, dict):
            raise error(f"{where}: expected {self.object_name}, got {type(value).__name__}")
        hints = _hints(tp)
        fields = dataclasses.fields(tp)
        unknown = sorted(map(str, set(value) - {f.name for f in fields}))
        if unknown:
            named = ", ".join(_name(u) for u in unknown[:MAX_NAMED])
            raise error(f"{_at(where)}{self.unknown_words} {named}{' ...' if len(unknown) > MAX_NAMED else ''}")
        kwargs = {}
        for f in fields:
            if f.name in value:
                raw, at = value[f.name], self.place(where, f.name)
                self.check_raw(tp, f.name, raw, at)
                kwargs[f.name] = self.decode(hints[f.name], raw, at)
                self.check_field(tp, f.name, kwargs[f.name], at)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise error(f"{_at(where)}{self.missing_words} {f.name!r}")
        obj = tp(**kwargs)
        check = getattr(obj, "validate", None)
        if check is not None:
            try:
                check()
            except (ValueError, TypeError) as exc:
                raise error(f"{where}: {exc}") from None
        return obj


def decode(tp: Any, value: Any, where: str, error: type[ValueError] = ValueError, sep: str = ".") -> Any:
    """`value` (parsed JSON or TOML) as type `tp`; raises `error` naming the place `where` on any mismatch
    (a field's place is `where` + `sep` + its name). Types only, plus each class's `validate()`."""
    return Decoder(error, sep).decode(tp, value, where)
