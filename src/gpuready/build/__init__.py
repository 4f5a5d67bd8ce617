"""Source builds of GPU packages that PyPI has no CUDA wheels for (dlib, OpenCV), and the wheel cache.

`builder.build_wheel(machine, "dlib")` runs a recipe and leaves a checked wheel in the cache;
`settings.build_settings(machine, "dlib")` says what such a build would do, without doing it (plan
shows exactly that); `cache` is the wheel folder pip and uv read with --find-links.
"""
