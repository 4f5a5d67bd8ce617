"""The package knowledge base: every file loads into typed rows, every row has a source, facts are coherent.

A broken data file must fail here with the file and the entry named, not later inside `plan`.
"""

from __future__ import annotations

import dataclasses

import pytest

from gpuready.knowledge import cudnn, loader, packages
from gpuready.knowledge.cuda import build_runs_on
from gpuready.knowledge.loader import KnowledgeError, load_table
from gpuready.knowledge.package_rows import TensorflowRelease, TorchRelease, TorchVariant, torch_variant
from gpuready.knowledge.packages import KINDS, builds, torch_companion, torch_releases


def test_every_package_file_loads():
    counts = packages.all_knowledge()
    assert set(counts) == set(KINDS)
    for name, kind in KINDS.items():
        if kind in ("wheel", "plain"):
            assert counts[name] > 0, name


@pytest.mark.parametrize("name", [n for n, k in KINDS.items() if k != "dead"])
def test_every_build_names_a_source(name):
    for b in builds(name):
        assert b.source.strip(), f"{name} {b.version} {b.variant} has no source"


@pytest.mark.parametrize(
    "filename,table",
    [
        ("torch.toml", "release"), ("torch.toml", "variant"), ("tensorflow.toml", "release"), ("jax.toml", "release"),
        ("jax.toml", "extra"), ("cupy.toml", "release"), ("onnxruntime.toml", "release"), ("dlib.toml", "release"),
        ("opencv.toml", "release"), ("face_recognition.toml", "release"), ("theano.toml", "release"),
        ("pytensor.toml", "release"), ("cudnn.toml", "cudnn"), ("cudnn.toml", "wheel"), ("cuda.toml", "toolkit_wheel"),
    ],
)
def test_every_row_has_a_source_field(filename, table):
    rows = loader.read_data_file(filename)[table]
    for row in rows:
        assert str(row.get("source", "")).strip(), f"{filename} [[{table}]] {row}"


def _with_data(monkeypatch, filename, data):
    real = loader.read_data_file

    def fake(name):
        return data if name == filename else real(name)

    monkeypatch.setattr(loader, "read_data_file", fake)


def test_broken_row_names_file_and_entry(monkeypatch):
    _with_data(monkeypatch, "torch.toml", {"release": [{"version": "2.99", "versions": ["2.99.0"], "python": ">=3.10",
                                                       "variants": ["cu999"], "pypi_linux": "cu126", "source": "x"}]})
    with pytest.raises(KnowledgeError) as exc:
        load_table("torch.toml", "release", TorchRelease)
    msg = str(exc.value)
    assert "torch.toml" in msg and "[[release]]" in msg and "2.99" in msg and "cu126" in msg


def test_wrong_type_and_unknown_key_are_caught(monkeypatch):
    _with_data(monkeypatch, "tensorflow.toml", {"release": [{"version": "9.9", "versions": "9.9.0", "python": ">=3.10",
                                                            "cuda": "12.5", "cudnn": "9.3", "linux_gpu": "and-cuda",
                                                            "windows_gpu": "none", "cc_min": "5.0", "source": "x"}]})
    with pytest.raises(KnowledgeError, match=r"tensorflow.toml \[\[release\]\] version='9.9': versions: expected a list"):
        load_table("tensorflow.toml", "release", TensorflowRelease)
    _with_data(monkeypatch, "torch.toml", {"variant": [{"name": "cu126", "cuda": "12.6", "torch": ">=2.6", "archs": [],
                                                       "source": "x", "arches": []}]})
    with pytest.raises(KnowledgeError, match="unknown key"):
        load_table("torch.toml", "variant", TorchVariant)


@pytest.mark.parametrize(
    "row,error",
    [
        ({"name": "cu126", "cuda": "12.8", "torch": ">=2.6", "archs": [], "source": "x"}, "does not match"),
        ({"name": "cu126", "cuda": "12.6", "torch": "newer than 2.6", "archs": [], "source": "x"}, "not a version specifier"),
        ({"name": "cu126", "cuda": "12.6", "torch": ">=2.6", "archs": ["sm60"], "source": "x"}, "not sm_XY"),
    ],
)
def test_variant_rows_are_validated(monkeypatch, row, error):
    _with_data(monkeypatch, "torch.toml", {"variant": [row]})
    with pytest.raises(KnowledgeError, match=error):
        load_table("torch.toml", "variant", TorchVariant)


def test_every_torch_variant_has_an_arch_row_and_pairings():
    for rel in torch_releases():
        for version in rel.versions:
            for name in rel.variants:
                assert torch_variant(name, version) is not None, f"torch {version} {name}: no [[variant]] row"
            if rel.confirmed:
                assert torch_companion("torchvision", version), f"torch {version}: no torchvision pairing"


@pytest.mark.parametrize(
    "version,variant,cc,runs",
    [
        ("2.14.1", "cu126", "6.1", True),  # GTX 1080 Ti runs the sm_60 code of cu126
        ("2.14.1", "cu130", "6.1", False),  # CUDA 13 builds start at Turing
        ("2.14.1", "cu130", "12.0", True),  # RTX 5090
        ("2.14.1", "cu126", "12.0", False),  # cu126 stops at sm_90, no PTX
        ("2.11.0", "cu128", "7.0", False),  # Volta dropped from cu128 in 2.11
        ("2.9.1", "cu128", "7.0", True),  # ... but kept in 2.8-2.10
        ("2.7.1", "cu128", "7.0", False),  # 2.7's cu128 never had it
        ("2.7.1", "cu118", "9.0", True),
        ("1.4.0", "cu100", "7.0", True),  # V100
    ],
)
def test_torch_arch_lists(version, variant, cc, runs):
    row = torch_variant(variant, version)
    assert row is not None
    assert build_runs_on(row.archs, cc) is runs


def test_tensorflow_has_no_native_windows_gpu_after_2_10():
    for b in builds("tensorflow"):
        if b.gpu and "windows" in b.os:
            assert b.key.release[:2] <= (2, 10), b.version


def test_jax_cuda13_needs_turing_and_cuda12_maxwell():
    for b in builds("jax"):
        if b.variant == "cuda13":
            assert b.cc_min == "7.5"
        if b.variant == "cuda12":
            assert b.cc_min == "5.2"


def test_cudnn_facts():
    assert cudnn.library_name(9, "linux") == "libcudnn.so.9"
    assert cudnn.library_name(8, "windows") == "cudnn64_8.dll"
    assert cudnn.cudnn_has_build_for("9.17.0", "13.0") is True
    assert cudnn.cudnn_has_build_for("9.17.0", "11.8") is False
    assert cudnn.cudnn_has_build_for("8.9.5", "12.1") is True
    assert cudnn.cudnn_has_build_for("7.1.0", "10.0") is None  # 7.0-7.4 pairing unconfirmed
    assert cudnn.cudnn_release("9.19.0").version == "9.17.0"  # newest row not newer than it
    assert cudnn.cudnn_wheel(13).dist == "nvidia-cudnn-cu13"


def test_toolkit_wheels_are_newest_first():
    wheels = packages.toolkit_wheels()
    assert wheels[0].cuda.startswith("13.")
    assert any(w.cuda == "12.9" for w in wheels)


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    """The JSON cache gives back exactly the builds the TOML gives."""
    fresh = {n: packages._builds_uncached(n) for n, k in KINDS.items() if k == "wheel"}
    for name, expected in fresh.items():
        again = tuple(packages._build_from_dict(dataclasses.asdict(b)) for b in expected)
        assert again == expected, name


# --- the light PEP 440 helpers agree with packaging ------------------------------------------------------

CASES_SPEC = [">=3.10,<3.15", ">=2.12", "==2.9.*", "!=2.9.*", "<2.8", "<=3.12", ">2.0", "==2.4.1", "~=2.4", "~=1.13.0",
              ">=1.13,<2.1", "==1.4.0", ">=0.4.17,<0.4.26", "==20.0.1", "===2.1.0", "!=2.7.1", ">=2.0.0,!=2.1.*"]
CASES_VERSION = ["3.7.4", "3.10", "3.10.12", "3.15.0", "2.9.0", "2.9.1", "2.9.1+cu128", "2.4.1+cu121", "2.4.0", "2.0",
                 "2.0.0", "1.13.1", "20.0.1.post1", "20.0.1", "4.14.0.94", "0.4.25", "2.1.0", "2.7.1", "2.14.1"]


@pytest.mark.parametrize("spec", CASES_SPEC)
def test_pep440_contains_matches_packaging(spec):
    from packaging.specifiers import SpecifierSet

    from gpuready.knowledge import pep440

    for v in CASES_VERSION:
        assert pep440.contains(spec, v) == SpecifierSet(spec).contains(v, prereleases=True), (spec, v)


def test_pep440_ordering_matches_packaging():
    from packaging.version import Version

    from gpuready.knowledge import pep440

    mine = sorted(CASES_VERSION, key=pep440.version)
    theirs = sorted(CASES_VERSION, key=Version)
    assert [Version(v) for v in mine] == [Version(v) for v in theirs]
    assert pep440.version("2.0") == pep440.version("2.0.0")
    assert pep440.version("1.0rc1") < pep440.version("1.0")  # handed to packaging
