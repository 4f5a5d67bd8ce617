"""The Machine: one machine's GPU-relevant facts, the contract between every stage.

Everything downstream of the probe (doctor, plan, explain, verify, build) reads a
`Machine` and nothing else about the host, so each stage can be tested on a saved
machine (`tests/machines/*.json`) and a user can plan for a box they are not on.
The dataclasses are frozen so that no stage can quietly rewrite a fact another
stage relies on; `dataclasses.replace` gives a modified copy when one is needed
(for `plan --driver ...` overrides, say).

The JSON form carries a schema id and version: loading a file written by another
tool, or by a future gpuready with an incompatible schema, fails with a message
that says which, instead of a KeyError deep inside a later stage.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Union

SCHEMA_ID = "gpuready.machine"
SCHEMA_VERSION = 1


class MachineFormatError(ValueError):
    """A machine file that is not valid JSON, not ours, or not of a schema we read."""


@dataclass(frozen=True)
class OSInfo:
    system: str  # "linux", "windows", "macos" (normalised; see probe.pyenv.normalise_system)
    release: str = ""  # kernel release / Windows build
    distro: str = ""  # "Ubuntu 24.04.3 LTS", "Windows 10 Pro"
    arch: str = ""  # "x86_64", "aarch64", "arm64" (normalised: AMD64 -> x86_64)
    wsl: bool = False
    container: bool = False


@dataclass(frozen=True)
class PythonInfo:
    version: str  # "3.12.3"
    implementation: str = "cpython"
    executable: str = ""
    bits: int = 64
    env_kind: str = "system"  # "venv", "conda", "system"
    prefix: str = ""
    # The platform tags pip would accept here, most specific first (a few are enough to explain a mismatch).
    platform_tag: str = ""  # sysconfig platform as a tag: "linux_x86_64", "win_amd64", "macosx_14_0_arm64"
    site_packages: tuple[str, ...] = ()  # where pip-installed CUDA/cuDNN wheels and framework copies live

    @property
    def minor(self) -> str:
        """ "3.12" """
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class GPU:
    index: int
    name: str
    uuid: str = ""
    compute_capability: str = ""  # "9.0"; empty when unknown
    memory_mib: int = 0
    pci_bus_id: str = ""
    # The node's health, from NVML (None/empty: not asked, or this GPU/driver cannot say). Optional so that
    # machine files written before these fields existed still load.
    persistence_mode: bool | None = None  # Linux: the driver stays initialised between programs
    ecc_uncorrected_volatile: int | None = None  # uncorrected ECC errors since the last driver load
    ecc_uncorrected_aggregate: int | None = None  # ... over the GPU's lifetime
    retired_pages_pending: bool | None = None  # pages waiting to be retired (needs a GPU reset/reboot)
    remap_pending: bool | None = None  # A100/H100+: a row remap waits for a GPU reset
    remap_failed: bool | None = None  # a row remap failed: the memory is faulty
    throttle_reasons: tuple[str, ...] = ()  # active clock throttle reasons ("hw_slowdown", "sw_thermal", ...)
    processes: tuple[str, ...] = ()  # other processes holding GPU memory: "pid 4242 python3 (2048 MiB)"

    @property
    def sm(self) -> str:
        """The nvcc target name for this GPU ("sm_90"), or "" when the capability is unknown."""
        return "sm_" + self.compute_capability.replace(".", "") if self.compute_capability else ""


@dataclass(frozen=True)
class Driver:
    version: str = ""  # display driver, "580.159.04"; empty = no driver found
    cuda_version: str = ""  # highest CUDA the driver supports, "13.0" (cuDriverGetVersion)
    source: str = ""  # where the facts came from: "nvml", "proc", "nvidia-smi", "saved"
    kernel_module_version: str = ""  # /proc/driver/nvidia/version: differs from version on a lib/module mismatch
    nvidia_pci_devices: int = 0  # NVIDIA display controllers on the PCI bus, seen with or without a driver
    # What decides whether a process sees the GPUs the driver has (read by the probe; optional so that
    # older machine files load). None = the variable is not set.
    cuda_visible_devices: str | None = None
    nvidia_visible_devices: str | None = None  # set by the NVIDIA container runtime ("all", "void", "none", ids)
    nodes_checked: bool = False  # the /dev/nvidia* facts below were read (Linux only)
    device_nodes: tuple[str, ...] = ()  # /dev/nvidia0, /dev/nvidiactl, /dev/nvidia-uvm, ...
    nodes_denied: tuple[str, ...] = ()  # "/dev/nvidia0 (crw-rw---- root:video)": present but not read/write for us
    nouveau_loaded: bool = False  # the open-source nouveau kernel module holds the card
    wsl_libcuda: str | None = None  # WSL: /usr/lib/wsl/lib/libcuda.so.1 when present, "" when missing, None off WSL
    xid: tuple[str, ...] = ()  # recent "NVRM: Xid" kernel log lines (newest last)
    kernel_log: str = ""  # where the Xid lines were read ("dmesg", "journalctl -k"), "" when unreadable

    @property
    def present(self) -> bool:
        return bool(self.version)


@dataclass(frozen=True)
class CudaToolkit:
    root: str
    version: str = ""  # "13.0.88" (or "13.0" when only that much is known)
    nvcc: str = ""  # path to nvcc, empty for a runtime-only copy
    origin: str = ""  # "system", "conda", "pip", "CUDA_HOME", "CUDA_PATH", "PATH"
    on_path: bool = False  # its nvcc is the first nvcc on PATH


@dataclass(frozen=True)
class Cudnn:
    version: str = ""  # "9.14.0"
    header: str = ""  # path to cudnn_version.h (or cudnn.h for cuDNN 7)
    library: str = ""  # path to libcudnn.so.N / cudnn64_N.dll
    origin: str = ""  # "system", "toolkit", "conda", "pip", "CUDNN_PATH"

    @property
    def major(self) -> str:
        return self.version.split(".")[0] if self.version else ""


@dataclass(frozen=True)
class Compiler:
    kind: str  # "gcc", "clang", "msvc"
    version: str  # "13.3.0"; for MSVC the cl.exe version "19.40.33811"
    path: str = ""
    msc_ver: int = 0  # MSVC only: _MSC_VER, e.g. 1940
    origin: str = ""  # "PATH", "CC", "CXX", "vswhere", "/opt/gcc", ...
    target: str = ""  # "x86_64-linux-gnu"


@dataclass(frozen=True)
class FrameworkCopy:
    """One place a framework's importable module lives (a dlib in conda's site-packages, another in ~/.local)."""

    path: str
    version: str = ""
    dist: str = ""  # the distribution that installed it, "" when no metadata claims it
    active: bool = False  # the one `import` picks
    # Read from the files, without importing this copy (optional: older machine files lack them).
    cuda: bool | None = None  # this copy was built with CUDA (None: could not tell from its files)
    cuda_evidence: str = ""  # what says so: "NEEDED libcudnn.so.9", "torch/version.py: cuda = '13.0'"
    entry: str = ""  # the sys.path entry it was found in
    origin: str = ""  # why that entry is on sys.path: "PYTHONPATH", "user site", ".pth", "egg", "site-packages", "conda", "folder"
    origin_detail: str = ""  # the .pth file that adds the entry, the conda prefix, ...
    installer: str = ""  # "pip", "uv", "conda" (dist-info INSTALLER or a conda-meta record), "" when unknown
    meta: str = ""  # the metadata that claims it: a .dist-info/.egg-info folder or a conda-meta/*.json file
    extra_paths: tuple[str, ...] = ()  # more top-level files of this copy in the same folder (dlib's _dlib_pybind11*.so)


@dataclass(frozen=True)
class LoadedLibrary:
    """A CUDA library a framework's process really mapped, after a real operation (from /proc/self/maps)."""

    name: str  # "cudart", "cublas", "cublasLt", "cudnn", "nccl", "nvrtc", "nvJitLink", "cufft", "cuda"
    path: str
    version: str = ""  # "9.19.0": from the library itself (cudnnGetVersion, ...) or its file name
    rule: str = ""  # why this copy was picked: "LD_LIBRARY_PATH", "RUNPATH", "wheel", "system", "path"
    rule_detail: str = ""  # the sentence behind the rule: "RUNPATH $ORIGIN/../../nvidia/cudnn/lib of torch/lib/libtorch_cuda.so"


@dataclass(frozen=True)
class Framework:
    """A GPU framework as its own child process saw it (never imported into gpuready)."""

    name: str  # import name: "torch", "tensorflow", "jax", "cupy", "onnxruntime", "cv2", "dlib", ...
    dist: str = ""  # distribution: "torch", "opencv-python-headless", "onnxruntime-gpu", "cupy-cuda13x"
    version: str = ""
    status: str = "ok"  # "ok", "import_error", "crashed", "timeout", "error"
    cuda_build: bool | None = None  # built with CUDA support (None: could not tell)
    cuda_version: str = ""  # CUDA the build targets ("13.0")
    cudnn_version: str = ""  # cuDNN the build targets or loaded ("9.19.0")
    archs: tuple[str, ...] = ()  # GPU code it carries: ("sm_75", ..., "compute_120")
    sees_gpu: bool | None = None
    device_count: int = 0
    error: str = ""  # last lines of the failure, for import errors, crashes and hangs
    signal: str = ""  # "SIGSEGV" when the child died of a signal
    copies: tuple[FrameworkCopy, ...] = ()
    details: Mapping[str, str] = field(default_factory=dict)  # extra facts: providers, build info lines, ...
    seconds: float = 0.0  # how long the inspection took
    loaded: tuple[LoadedLibrary, ...] = ()  # CUDA libraries its process mapped (optional: older files lack it)
    module_file: str = ""  # the file `import` really took (its __file__)
    built_cudnn: str = ""  # the cuDNN it was compiled against, when it says ("9.19.0")
    built_cublas: str = ""  # the cuBLAS it was compiled against, when it says
    would_load: tuple[LoadedLibrary, ...] = ()  # the copy cuda-pathfinder picks in this environment, per library in `loaded`


@dataclass(frozen=True)
class ProbeNote:
    """Something the probe itself ran into: a hung nvidia-smi, an unreadable header."""

    subject: str
    message: str
    severity: str = "info"  # "info", "warning"


@dataclass(frozen=True)
class Machine:
    os: OSInfo
    python: PythonInfo
    gpus: tuple[GPU, ...] = ()
    driver: Driver = Driver()
    toolkits: tuple[CudaToolkit, ...] = ()
    cudnns: tuple[Cudnn, ...] = ()
    compilers: tuple[Compiler, ...] = ()
    cmake: str = ""  # version of the cmake on PATH, "" if none
    frameworks: tuple[Framework, ...] = ()
    notes: tuple[ProbeNote, ...] = ()
    hostname: str = ""
    probed_at: str = ""  # ISO 8601, UTC
    gpuready_version: str = ""
    description: str = ""  # for saved machines: what this machine is

    @property
    def has_gpu(self) -> bool:
        """An NVIDIA GPU is here: visible to the driver, or at least on the PCI bus."""
        return bool(self.gpus) or self.driver.nvidia_pci_devices > 0

    def framework(self, name: str) -> Framework | None:
        for fw in self.frameworks:
            if fw.name == name:
                return fw
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_ID, "schema_version": SCHEMA_VERSION, **_encode(self)}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "machine") -> Machine:
        if not isinstance(data, dict):
            raise MachineFormatError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA_ID:
            raise MachineFormatError(
                f"{where}: not a gpuready machine file (schema is {data.get('schema')!r}, "
                f"expected {SCHEMA_ID!r}); write one with `gpuready probe --save FILE`"
            )
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise MachineFormatError(
                f"{where}: machine schema version {version!r} is not supported "
                f"(this gpuready reads version {SCHEMA_VERSION})"
            )
        body = {k: v for k, v in data.items() if k not in ("schema", "schema_version")}
        return _decode(cls, body, where)

    @classmethod
    def from_json(cls, text: str, *, where: str = "machine") -> Machine:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MachineFormatError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data, where=where)

    @classmethod
    def load(cls, path: str | Path) -> Machine:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise MachineFormatError(f"{path}: not a text file") from None
        except OSError as exc:
            raise MachineFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
        return cls.from_json(text, where=str(path))


# --- generic (de)serialisation of the frozen dataclasses above -------------------------------


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise MachineFormatError(f"{where}: expected an object, got {type(value).__name__}")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise MachineFormatError(f"{where}: unknown field(s) {', '.join(unknown)}")
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = _decode(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise MachineFormatError(f"{where}: missing required field {f.name!r}")
        return tp(**kwargs)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        return _decode(others[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise MachineFormatError(f"{where}: expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp)[:1]
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (Mapping, dict) or tp in (Mapping, dict):
        if not isinstance(value, dict):
            raise MachineFormatError(f"{where}: expected an object, got {type(value).__name__}")
        return {str(k): str(v) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise MachineFormatError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise MachineFormatError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MachineFormatError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise MachineFormatError(f"{where}: expected a string, got {value!r}")
        return value
    return value
