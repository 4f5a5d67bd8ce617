"""Run by tests/test_indexconfig_real.py with the test venv's Python: pip's OWN option parser, per case.

Reads a JSON list of cases ({"env": {...}, "prefix": "...", "command": "install"}) on stdin and prints,
for each, the index options pip's `install`/`download` command starts with -- computed by pip's code
(pip._internal.commands.create_command(...).parse_args), in this one process for speed (~5 ms a case
after pip's import, against ~1 s for a `pip` run). A config pip refuses gives {"error": ...}.
"""

from __future__ import annotations

import io
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout


def main() -> None:
    cases = json.load(sys.stdin)
    from pip._internal.commands import create_command

    out = []
    for case in cases:
        os.environ.clear()
        os.environ.update(case["env"])
        sys.prefix = case["prefix"]
        buf = io.StringIO()
        try:
            with redirect_stdout(buf), redirect_stderr(buf):
                cmd = create_command(case.get("command", "install"))
                opts, _ = cmd.parse_args(["gpr-tiny"])
            out.append({
                "index_url": opts.index_url,
                "extra_index_urls": list(opts.extra_index_urls),
                "find_links": list(opts.find_links),
                "trusted_hosts": list(opts.trusted_hosts),
                "no_index": bool(opts.no_index),
            })
        except BaseException as exc:  # pip's parser exits (SystemExit) on a config it refuses
            out.append({"error": f"{type(exc).__name__}: {buf.getvalue().strip()[-300:]}"})
    sys.__stdout__.write(json.dumps(out))


if __name__ == "__main__":
    main()
