"""Every `--json` output is a document with a schema id and version, so a script (or a lab's fleet view)
can tell what it holds and a future gpuready can change its shape without breaking readers silently.

The schema files are docs/schemas/<kind>.schema.json; tests/test_schemas.py validates the real output
of each command against them. Bump the version when a key changes meaning or goes away (adding keys is
compatible).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

SCHEMA_VERSIONS: dict[str, int] = {
    "doctor": 1,
    "explain": 1,
    "verify": 1,
    "bench": 1,
    "install": 1,
    "download": 1,
    "build": 1,
    "build-settings": 1,
    "build-trim": 1,
    "cache": 1,
    "config": 1,
}


def document(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """{"schema": "gpuready.<kind>", "schema_version": N, ...body}."""
    return {"schema": f"gpuready.{kind}", "schema_version": SCHEMA_VERSIONS[kind], **body}


def dumps(kind: str, body: Mapping[str, Any], **kw: Any) -> str:
    kw.setdefault("indent", 2)
    return json.dumps(document(kind, body), **kw)
