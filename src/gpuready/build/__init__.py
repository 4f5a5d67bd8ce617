"""Source builds of GPU packages that PyPI has no CUDA wheels for (dlib, OpenCV), and the wheel cache.

`build_wheel(machine, "dlib")` runs a recipe and leaves a checked wheel in the cache;
`settings.build_settings(machine, "dlib")` says what such a build would do, without doing it;
`cache` is the wheel folder pip and uv read with --find-links. The heavy modules are imported on
first use, so `import gpuready.build.cache` stays cheap for the installer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from gpuready.build.builder import BuildResult, build_wheel

__all__ = ["BuildResult", "build_wheel"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from gpuready.build import builder

        return getattr(builder, name)
    raise AttributeError(f"module 'gpuready.build' has no attribute {name!r}")
