"""Which pins really have a file on their index, for which Python and platform: checked, not recalled.

`data/availability.json` is written by tools/check_knowledge.py from the real indexes (PyPI's JSON Simple
API; for the PyTorch index, which the checking machine cannot reach, the stored copies listed in
tests/data/pytorch-index-evidence.toml). For every pin the planner can print it lists the platforms and
Python minors a file exists for, within what the TOML rows claim. The planner uses it twice: a build whose
pin is not listed is left out of plans unless the user pins it, and a listed build is only planned for a
Python/platform that has a file. Edit the TOML, then re-run the checker; never edit the JSON by hand.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

FILENAME = "availability.json"


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    try:
        text = resources.files("gpuready.knowledge.data").joinpath(FILENAME).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError):
        return {}


def checked() -> str:
    """The date the indexes were checked ("" when the table is missing)."""
    return _data().get("checked", "")


def loaded() -> bool:
    return bool(_data().get("pins"))


def entry(key: str) -> dict[str, Any] | None:
    """The table's entry for a pin key (see plan.evaluate.availability_key), None when no file is known."""
    return _data().get("pins", {}).get(key)


def pythons(e: dict[str, Any], os_name: str, arch: str) -> tuple[int, ...]:
    """The Python 3 minors a listed pin has a file for on this platform (within the rows' claims)."""
    text = e.get("ok", {}).get(f"{os_name}/{arch}", "")
    return tuple(int(x) for x in text.split(",") if x)


def source(e: dict[str, Any]) -> str:
    return e.get("source", "")
