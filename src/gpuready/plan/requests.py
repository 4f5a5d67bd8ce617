"""Turning what the user typed (`torch>=2.4`, `opencv-python`, `tensorflow-gpu==2.10.*`) into requests.

People name the same package many ways (the import name `cv2`, the old `tensorflow-gpu`, a
`cupy-cuda12x` they saw in a blog post); each name maps to one package of the knowledge base, and
the spelling they used is kept, because it can carry intent (`opencv-python` wants the GUI build,
`cupy-cuda12x` wants CUDA 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpuready.knowledge import pep440

# Spelling -> canonical package. Companion packages of torch are planned from torch's choice.
ALIASES: dict[str, str] = {
    "torch": "torch",
    "pytorch": "torch",
    "torchvision": "torchvision",
    "torchaudio": "torchaudio",
    "tensorflow": "tensorflow",
    "tensorflow-gpu": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "tf": "tensorflow",
    "jax": "jax",
    "jaxlib": "jax",
    "cupy": "cupy",
    "onnxruntime": "onnxruntime",
    "onnxruntime-gpu": "onnxruntime",
    "ort": "onnxruntime",
    "dlib": "dlib",
    "dlib-bin": "dlib",
    "opencv": "opencv",
    "cv2": "opencv",
    "opencv-python": "opencv",
    "opencv-python-headless": "opencv",
    "opencv-contrib-python": "opencv",
    "opencv-contrib-python-headless": "opencv",
    "face-recognition": "face_recognition",
    "face_recognition": "face_recognition",
    "theano": "theano",
    "pytensor": "pytensor",
}
COMPANIONS = ("torchvision", "torchaudio")
_CUPY_DIST = re.compile(r"^cupy-cuda(\d+)x?$")


class RequestError(ValueError):
    """A package request that cannot be understood or names a package gpuready does not know."""


@dataclass(frozen=True)
class Request:
    name: str  # canonical: "torch", "opencv", ...
    raw: str  # what the user typed
    dist: str  # the distribution name as typed, normalised ("opencv-python")
    specifier: str = ""  # "" or a PEP 440 specifier (">=2.4")
    extras: tuple[str, ...] = ()
    implied_by: str = ""  # "theano" when pytensor was added for it, "torchvision" when torch was

    @property
    def cuda_major(self) -> int:
        """A CUDA major the spelling asks for: cupy-cuda12x -> 12, jax[cuda13] -> 13, else 0."""
        m = _CUPY_DIST.match(self.dist)
        if m:
            digits = m.group(1)
            # cupy-cuda12x -> 12 (any 12.x); cupy-cuda102 -> 10, cupy-cuda92 -> 9 (last digit is the minor)
            return int(digits) if self.dist.endswith("x") else int(digits[:-1])
        for extra in self.extras:
            m = re.fullmatch(r"cuda(\d+)(?:[-_].*)?", extra)
            if m:
                return int(m.group(1))
        return 0

    def allows(self, version: str) -> bool:
        return not self.specifier or pep440.contains(self.specifier, version)


def known_names() -> list[str]:
    return sorted({v for v in ALIASES.values()})


_SIMPLE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([A-Za-z0-9._,\s-]*)\])?\s*(.*)$")


def _split(raw: str) -> tuple[str, tuple[str, ...], str]:
    """ "jax[cuda13]>=0.7" -> ("jax", ("cuda13",), ">=0.7"); packaging only for what the regex can't read."""
    m = _SIMPLE.match(raw)
    if m and (not m.group(3) or pep440.clauses(m.group(3)) is not None):
        extras = tuple(sorted(e.strip() for e in (m.group(2) or "").split(",") if e.strip()))
        spec = ",".join(f"{op}{v}" for op, v in pep440.clauses(m.group(3)) or ())
        if spec:
            from gpuready.knowledge.pep440 import _VERSION

            for _, v in pep440.clauses(m.group(3)) or ():
                if not (v.endswith(".*") and _VERSION.match(v[:-2])) and not _VERSION.match(v.split("+")[0]):
                    break
            else:
                return m.group(1), extras, spec
        else:
            return m.group(1), extras, ""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(raw)
    except InvalidRequirement as exc:
        raise RequestError(f"{raw!r} is not a package requirement ({exc})") from None
    if req.url or req.marker:
        raise RequestError(f"{raw!r}: URLs and environment markers are not supported by plan")
    return req.name, tuple(sorted(req.extras)), str(req.specifier)


def parse_request(text: str) -> Request:
    raw = text.strip()
    if not raw:
        raise RequestError("empty package name")
    name_typed, extras, specifier = _split(raw)
    dist = name_typed.lower().replace("_", "-")
    name = ALIASES.get(dist) or ALIASES.get(name_typed.lower())
    if name is None and _CUPY_DIST.match(dist):
        name = "cupy"
    if name is None:
        raise RequestError(
            f"gpuready plan does not know {name_typed!r}; it plans these packages: {', '.join(known_names())}"
        )
    return Request(name=name, raw=raw, dist=dist, specifier=specifier, extras=extras)


def parse_requests(texts: list[str] | tuple[str, ...]) -> list[Request]:
    """Parse, merge duplicates (`torch torch>=2.4`), and add what a request implies.

    torchvision/torchaudio imply torch (their build must match torch's variant), face_recognition
    implies dlib (it uses the GPU only through dlib), theano is replaced by pytensor + jax, and
    pytensor brings jax for its GPU backend.
    """
    if not texts:
        raise RequestError("name at least one package (for example: gpuready plan torch)")
    out: dict[str, Request] = {}
    for text in texts:
        r = parse_request(text)
        if r.name in out:
            prev = out[r.name]
            spec = ",".join(s for s in (prev.specifier, r.specifier) if s)
            r = Request(r.name, f"{prev.raw}, {r.raw}", prev.dist, spec, tuple(sorted({*prev.extras, *r.extras})))
        out[r.name] = r
    implied = {
        "torchvision": ("torch",),
        "torchaudio": ("torch",),
        "face_recognition": ("dlib",),
        "theano": ("pytensor", "jax"),
        "pytensor": ("jax",),
    }
    order = list(out)
    changed = True
    while changed:
        changed = False
        for name in list(order):
            for dep in implied.get(name, ()):
                if dep not in out:
                    out[dep] = Request(dep, dep, dep, implied_by=name)
                    order.insert(order.index(name), dep) if name in COMPANIONS else order.append(dep)
                    changed = True
    if "theano" in out:
        order.remove("theano")
    return [out[n] for n in order]
