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

A machine file is input from outside, so loading checks it at the edge: types, the shape of each
version ("580.159.04", compute capability "8.6", Python "3.12.3"), choices (OS linux/windows/macos),
ranges, and limits (file size, nesting, at most 64 GPUs and 256 frameworks, string lengths). A bad
value is a clear MachineFormatError naming the field, never a confident finding built on "abc".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpuready.typed import Decoder, encode

SCHEMA_ID = "gpuready.machine"
SCHEMA_VERSION = 1

MAX_FILE_BYTES = 4 << 20  # a probe of a big box with every framework is ~50 kB
MAX_STRING = 64 << 10


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
class Tegra:
    """An NVIDIA Jetson (a Tegra SoC): its L4T release and board decide which CUDA and which wheels run on it.

    Jetson GPUs are not on a PCI bus and JetPack brings its own CUDA, so none of the x86/SBSA wheel
    reasoning applies; the planner needs to know it is on one.
    """

    l4t: str = ""  # L4T release from /etc/nv_tegra_release: "36.4.0" ("# R36 (release), REVISION: 4.0")
    model: str = ""  # /proc/device-tree/model: "NVIDIA Jetson AGX Orin Developer Kit"
    source: str = ""  # which files said so


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
    tegra: Tegra | None = None  # set on an NVIDIA Jetson (Tegra) board

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
        return {"schema": SCHEMA_ID, "schema_version": SCHEMA_VERSION, **encode(self)}

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
        try:
            return _DECODER.decode(cls, body, "")
        except MachineFormatError as exc:
            raise MachineFormatError(f"{where}: {exc}") from None

    @classmethod
    def from_json(cls, text: str, *, where: str = "machine") -> Machine:
        if len(text) > MAX_FILE_BYTES:
            raise MachineFormatError(f"{where}: too large for a machine file ({len(text) / 1e6:.1f} MB; at most {MAX_FILE_BYTES >> 20} MB)")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MachineFormatError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        except RecursionError:
            raise MachineFormatError(f"{where}: not a machine file (JSON nested too deeply)") from None
        except ValueError as exc:  # an integer of thousands of digits
            raise MachineFormatError(f"{where}: not a machine file ({exc})") from None
        return cls.from_dict(data, where=where)

    @classmethod
    def load(cls, path: str | Path) -> Machine:
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise MachineFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if len(raw) > MAX_FILE_BYTES:
            raise MachineFormatError(f"{path}: too large for a machine file (over {MAX_FILE_BYTES >> 20} MB)")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise MachineFormatError(f"{path}: not a text file (not UTF-8)") from None
        return cls.from_json(text, where=str(path))


# --- the machine file's checks beyond types (typed.Decoder walks the types) ---------------------------


_DRIVER = (r"\d{2,4}\.\d{1,3}(\.\d{1,3})?", 'a driver version like "580.159.04" or "411.70"')
_VERSION = (r"\d{1,3}(\.\d{1,4}){1,3}", 'a version like "13.0.88"')
# (class name, field) -> (regex, what it should look like); "" always passes (not known)
_SHAPES: dict[tuple[str, str], tuple[str, str]] = {
    ("Driver", "version"): _DRIVER,
    ("Driver", "kernel_module_version"): _DRIVER,
    ("Driver", "cuda_version"): (r"\d{1,2}\.\d{1,2}", 'a CUDA version like "13.0"'),
    ("GPU", "compute_capability"): (r"\d{1,2}\.\d", 'a compute capability "M.m" like "8.6"'),
    ("PythonInfo", "version"): (r"3\.\d{1,2}(\.\d{1,3})?((a|b|rc)\d{1,2})?\+?", 'a Python version "3.N[.N]" like "3.12.3"'),
    ("CudaToolkit", "version"): _VERSION,
    ("Cudnn", "version"): _VERSION,
}
_CHOICES: dict[tuple[str, str], tuple] = {
    ("OSInfo", "system"): ("linux", "windows", "macos"),
    ("PythonInfo", "bits"): (32, 64),
    ("Framework", "status"): ("ok", "import_error", "crashed", "timeout", "error"),
    ("ProbeNote", "severity"): ("info", "warning", "error"),
}
_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("GPU", "index"): (0, 1023),
    ("GPU", "memory_mib"): (0, 1 << 24),  # 16 TiB
    ("Driver", "nvidia_pci_devices"): (0, 1024),
    ("Framework", "device_count"): (0, 1024),
    ("Framework", "seconds"): (0, 1e6),
    ("Compiler", "msc_ver"): (0, 9999),
}
# at most this many items in a list (or entries in a mapping); 256 where not named
_MAX_ITEMS: dict[tuple[str, str], int] = {
    ("Machine", "gpus"): 64,
    ("Machine", "frameworks"): 256,
    ("Machine", "toolkits"): 64,
    ("Machine", "cudnns"): 64,
    ("Machine", "compilers"): 64,
    ("Machine", "notes"): 1024,
    ("Framework", "copies"): 64,
}
_DEFAULT_MAX_ITEMS = 256


def _show(value: Any) -> str:
    """A value for an error message: short, one line, escaped (it came from the file)."""
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'list'}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _too_long(text: str, where: str) -> None:
    if len(text) > MAX_STRING:
        raise MachineFormatError(f"{where}: too long ({len(text)} characters; at most {MAX_STRING})")


class _MachineDecoder(Decoder):
    """typed.Decoder with the machine file's words and checks: sizes before decoding, then shapes, choices,
    ranges and string lengths per field; a mapping (Framework.details) holds scalars, kept as text."""

    object_name = "an object"
    unknown_words = "unknown field(s)"
    missing_words = "missing required field"

    def __init__(self) -> None:
        super().__init__(MachineFormatError)

    def show(self, value: Any) -> str:
        return _show(value)

    def place(self, where: str, name: str) -> str:
        return f"{where}.{name}" if where else name  # the root is nameless: from_dict prefixes the file

    def check_raw(self, cls: type, name: str, raw: Any, where: str) -> None:
        if isinstance(raw, (list, dict)):
            most = _MAX_ITEMS.get((cls.__name__, name), _DEFAULT_MAX_ITEMS)
            if len(raw) > most:
                raise MachineFormatError(f"{where}: {len(raw)} entries; a machine file holds at most {most}")

    def check_field(self, cls: type, name: str, value: Any, where: str) -> None:
        key = (cls.__name__, name)
        if isinstance(value, str):
            _too_long(value, where)
            shape = _SHAPES.get(key)
            if shape and value and not re.fullmatch(shape[0], value):
                raise MachineFormatError(f"{where}: {_show(value)} is not {shape[1]}")
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    _too_long(item, f"{where}[{i}]")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise MachineFormatError(f"{where}: {_show(value)} is not one of {', '.join(map(str, _CHOICES[key]))}")
        if isinstance(value, float) and not math.isfinite(value):
            raise MachineFormatError(f"{where}: {_show(value)} is not a finite number")
        if key in _RANGES and isinstance(value, (int, float)) and not isinstance(value, bool):
            lo, hi = _RANGES[key]
            if not lo <= value <= hi:
                raise MachineFormatError(f"{where}: {_show(value)} is out of range ({lo:g} to {hi:g})")

    def mapping(self, tp: Any, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise MachineFormatError(f"{where}: expected an object, got {type(value).__name__}")
        out = {}
        for k, v in value.items():
            if isinstance(v, (dict, list)) or v is None:
                raise MachineFormatError(f"{where}.{k}: expected a string, got {type(v).__name__}")
            if len(str(k)) > MAX_STRING or len(str(v)) > MAX_STRING:
                raise MachineFormatError(f"{where}.{k}: too long (at most {MAX_STRING} characters)")
            out[str(k)] = str(v)
        return out


_DECODER = _MachineDecoder()
