"""Table-driven plan scenarios: machine + requests -> the versions and builds the official tables give.

Each expected answer is worked out by hand from the sources in the data files (comment per row):
NVIDIA's driver tables (CUDA 12.x needs >= 525.60.13 on Linux / 527.41 on Windows, 13.x >= 580.65.06,
11.x >= 450.80.02, 10.0 >= 410.48 / 411.31, 9.2 >= 396.26), PyTorch's release matrix and build
scripts (cu126 = sm_50..sm_90, cu128 in 2.11 = sm_75..sm_120, cu130 = sm_75..sm_120), TensorFlow's
tested configurations, JAX's installation page (CUDA 13 wheels need SM >= 7.5), CuPy's and ONNX
Runtime's requirement tables.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import pytest

from gpuready.knowledge.cuda import max_cuda_for_driver
from gpuready.machine import GPU, Compiler, Cudnn, CudaToolkit, Driver, Machine, OSInfo, PythonInfo
from gpuready.plan import install_hint, make_plan
from gpuready.plan.indexes import IndexConfig
from gpuready.plan.requests import RequestError
from tests.conftest import MACHINES, load_machine

SITE = "/home/u/venv/lib/python3.12/site-packages"


def make_machine(
    *,
    os: str = "linux",
    python: str = "3.12.3",
    driver: str = "",
    gpus: tuple[tuple[str, str], ...] = (),
    arch: str = "x86_64",
    wsl: bool = False,
    pci: int = 0,
    toolkits: tuple[CudaToolkit, ...] = (),
    cudnns: tuple[Cudnn, ...] = (),
    compilers: tuple[Compiler, ...] = (Compiler("gcc", "13.3.0", "/usr/bin/g++"),),
    cmake: str = "3.28.3",
) -> Machine:
    """A machine described by the few facts the planner reads (GPU: (name, compute capability))."""
    drv_os = "windows" if os == "windows" or wsl else "linux"
    return Machine(
        os=OSInfo(system=os, arch=arch, wsl=wsl),
        python=PythonInfo(version=python, executable="/home/u/venv/bin/python", site_packages=(SITE,)),
        gpus=tuple(GPU(i, name, compute_capability=cc) for i, (name, cc) in enumerate(gpus)),
        driver=Driver(version=driver, cuda_version=max_cuda_for_driver(driver, drv_os) if driver else "",
                      source="test", nvidia_pci_devices=max(pci, len(gpus))),
        toolkits=toolkits,
        cudnns=cudnns,
        compilers=compilers if os != "windows" else (),
        cmake=cmake,
    )


GTX1060 = ("NVIDIA GeForce GTX 1060 6GB", "6.1")
GTX1080TI = ("NVIDIA GeForce GTX 1080 Ti", "6.1")
RTX3060 = ("NVIDIA GeForce RTX 3060", "8.6")
RTX3090 = ("NVIDIA GeForce RTX 3090", "8.6")
RTX4090 = ("NVIDIA GeForce RTX 4090", "8.9")
RTX5090 = ("NVIDIA GeForce RTX 5090", "12.0")
A100 = ("NVIDIA A100-SXM4-80GB", "8.0")
H200 = ("NVIDIA H200", "9.0")
K80 = ("Tesla K80", "3.7")

CUDA13 = CudaToolkit("/usr/local/cuda-13.0", "13.0.88", "/usr/local/cuda-13.0/bin/nvcc", "system", True)
CUDA124 = CudaToolkit("/usr/local/cuda-12.4", "12.4.131", "/usr/local/cuda-12.4/bin/nvcc", "system", True)
CUDNN_PIP = Cudnn("9.19.0", f"{SITE}/nvidia/cudnn/include/cudnn_version.h", f"{SITE}/nvidia/cudnn/lib/libcudnn.so.9", "pip")
CUDNN_SYS = Cudnn("9.14.0", "/usr/include/x86_64-linux-gnu/cudnn_version_v9.h", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.14.0", "system")


def h200(**kw) -> Machine:
    """The H200 test machine as shared/reference/gpu-machine.md describes it."""
    base = dict(driver="580.159.04", gpus=(H200,), toolkits=(CUDA13,), cudnns=(CUDNN_PIP, CUDNN_SYS),
                compilers=(Compiler("gcc", "13.3.0", "/opt/gcc/bin/g++", origin="CXX"), Compiler("gcc", "13.3.0", "/usr/bin/g++")),
                cmake="4.4.3")
    base.update(kw)
    return make_machine(**base)


@dataclass
class Scenario:
    id: str
    machine: Callable[[], Machine]
    requests: list[str]
    expect: dict[str, tuple]  # name -> (version, variant, gpu)
    cuda: object = "any"  # expected top-level "cuda" (None, "12.8", ...) or "any"
    blocked: set[str] = field(default_factory=set)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # name -> substrings that must appear in its reasons
    install: dict[str, list[str]] = field(default_factory=dict)  # name -> substrings of the joined argv
    fixes: dict[str, list[str]] = field(default_factory=dict)  # blocked name -> substrings of its fix text
    absent: set[str] = field(default_factory=set)  # names that must not be in the plan


SCENARIOS = [
    # --- the seed cases ---------------------------------------------------------------------------------
    Scenario(  # driver 411.70 runs CUDA <= 10.0; TF 2.1-2.10 need CUDA 10.1/11.x; 2.11+ have no Windows GPU build
        "win-gtx1060-tensorflow", lambda: load_machine("win10-gtx1060-driver411"), ["tensorflow"],
        {"tensorflow": ("2.0.0", "gpu", True)}, cuda="10.0",
        reasons={"tensorflow": ["has no GPU build for windows", "install CUDA 10.0", "cuDNN >= 7.4",
                                "upgrade the NVIDIA driver to >= 452.39 (gets tensorflow 2.10.1"]},
        install={"tensorflow": ["tensorflow-gpu==2.0.0"]},
    ),
    Scenario(  # the same PC after a driver update and a Python 3.10: 2.10 is the last native-Windows GPU release
        "win-gtx1060-tensorflow-new-driver",
        lambda: make_machine(os="windows", python="3.10.11", driver="560.94", gpus=(GTX1060,)), ["tensorflow"],
        {"tensorflow": ("2.10.1", "gpu", True)}, cuda="11.2",
        reasons={"tensorflow": ["has no GPU build for windows", "CUDA 11.2"]},
    ),
    Scenario(  # current TF on native Windows: CPU only, and the fix is WSL2
        "win-rtx3060-tensorflow-py312",
        lambda: make_machine(os="windows", python="3.12.4", driver="560.94", gpus=(RTX3060,)), ["tensorflow"],
        {"tensorflow": ("2.21.0", "cpu", False)}, cuda=None, blocked={"tensorflow"},
        fixes={"tensorflow": ["WSL2"]},
    ),
    Scenario(  # driver 410.79 (CUDA 10.0); cu92 (needs 396.26) of torch 1.7.1 is the newest build it runs; V100 = sm_70
        "v100-driver410-torch", lambda: load_machine("ubuntu1804-v100-cuda10"), ["torch"],
        {"torch": ("1.7.1", "cu92", True)}, cuda="9.2",
        reasons={"torch": ["CUDA 12.x builds need driver >= 525.60.13", "upgrade the NVIDIA driver to >= 450.80.02"]},
        install={"torch": ["torch==1.7.1+cu92", "--find-links https://download.pytorch.org/whl/torch_stable.html"]},
    ),
    Scenario(  # the same machine asking for a CUDA 10.0 build explicitly: torch 1.4.0 is the last with cu100
        "v100-driver410-torch-cu100", lambda: load_machine("ubuntu1804-v100-cuda10"), ["torch==1.4.0+cu100"],
        {"torch": ("1.4.0", "cu100", True)}, cuda="10.0",
    ),
    Scenario(  # driver 470.82 runs CUDA 11.x builds only (12.x needs >= 525.60.13): torch 2.7.1 is the last with cu118
        "driver470-rtx3090-torch", lambda: make_machine(python="3.10.12", driver="470.82.01", gpus=(RTX3090,)), ["torch"],
        {"torch": ("2.7.1", "cu118", True)}, cuda="11.8",
        reasons={"torch": ["driver 470.82.01 supports CUDA <= 11.4", "CUDA 12.x builds need driver >= 525.60.13",
                           "minor-version compatibility"]},
        install={"torch": ["torch==2.7.1+cu118", "--index-url https://download.pytorch.org/whl/cu118"]},
    ),
    Scenario(  # Kepler K80 (sm_37) on driver 470: only cu117/cu118 of 2.0 still carry sm_37; cu117 is 2.0's stable CUDA
        "driver470-k80-torch", lambda: make_machine(python="3.10.12", driver="470.82.01", gpus=(K80,)), ["torch"],
        {"torch": ("2.0.1", "cu117", True)},
        reasons={"torch": ["has no code for Tesla K80 (sm_37)"]},
    ),
    Scenario(  # RTX 5090 needs sm_120: cu126 lacks it, cu130/cu132 need driver >= 580.65.06 -> 2.11's cu128
        "rtx5090-driver575-torch", lambda: load_machine("rtx5090-torch-cu118"), ["torch"],
        {"torch": ("2.11.0", "cu128", True)}, cuda="12.8",
        reasons={"torch": ["has no code for NVIDIA GeForce RTX 5090 (sm_120)", "CUDA 13.x builds need driver >= 580.65.06",
                           "upgrade the NVIDIA driver to >= 580.65.06 (gets torch 2.14.1+cu130)"]},
        install={"torch": ["torch==2.11.0+cu128", "--index-url https://download.pytorch.org/whl/cu128"]},
    ),
    Scenario(  # with a 580 driver the newest torch's PyPI wheel (cu130) has sm_120: plain PyPI
        "rtx5090-driver580-torch", lambda: make_machine(driver="580.82.07", gpus=(RTX5090,)), ["torch"],
        {"torch": ("2.14.1", "cu130", True)}, cuda="13.0",
        install={"torch": ["torch==2.14.1"]},
        reasons={"torch": ["PyPI's torch 2.14.1 for Linux x86_64 is the cu130 build"]},
    ),
    Scenario(  # GTX 1080 Ti (sm_61) + latest torch: cu130/cu132 start at sm_75; cu126 has sm_60 code
        "gtx1080ti-driver580-torch", lambda: make_machine(driver="580.95.05", gpus=(GTX1080TI,)), ["torch"],
        {"torch": ("2.14.1", "cu126", True)}, cuda="12.6",
        reasons={"torch": ["has no code for NVIDIA GeForce GTX 1080 Ti (sm_61)", "runs its sm_60 code"]},
        install={"torch": ["torch==2.14.1+cu126", "https://download.pytorch.org/whl/cu126"]},
    ),
    Scenario(  # a torch pin inside 2.9: still never cu128/cu130 on Pascal
        "gtx1080ti-torch-2.9", lambda: make_machine(driver="580.95.05", gpus=(GTX1080TI,)), ["torch==2.9.*"],
        {"torch": ("2.9.1", "cu126", True)},
    ),
    Scenario(  # two GPUs: one build must cover both (sm_61 and sm_86)
        "two-gpus-torch", lambda: make_machine(driver="580.95.05", gpus=(GTX1080TI, RTX3090)), ["torch"],
        {"torch": ("2.14.1", "cu126", True)},
    ),
    Scenario(  # torch + tensorflow + jax on driver 535: one CUDA major they share (12), jax 0.10.2 for Python 3.11
        "driver535-torch-tf-jax", lambda: make_machine(python="3.11.9", driver="535.104.05", gpus=(A100,)),
        ["torch", "tensorflow", "jax"],
        {"torch": ("2.14.1", "cu126", True), "tensorflow": ("2.21.0", "and-cuda", True), "jax": ("0.10.2", "cuda12", True)},
        cuda="12.9",
        reasons={"torch": ["CUDA 13.x builds need driver >= 580.65.06", "minor-version compatibility"],
                 "jax": ["Python >= 3.12"]},
        install={"tensorflow": ["tensorflow[and-cuda]==2.21.0"], "jax": ["jax[cuda12]==0.10.2"]},
    ),
    Scenario(  # jax on a GTX 1060 (sm_61): CUDA 13 wheels need SM >= 7.5, CUDA 12 wheels SM >= 5.2
        "gtx1060-driver580-jax", lambda: make_machine(driver="580.95.05", gpus=(GTX1060,)), ["jax"],
        {"jax": ("0.11.2", "cuda12", True)}, cuda="12.9",
        reasons={"jax": ["needs compute capability >= 7.5"]},
    ),
    Scenario(  # jax on driver 470: the last CUDA 11 wheels (0.4.25, from JAX's own release page)
        "gtx1060-driver470-jax", lambda: make_machine(python="3.10.12", driver="470.82.01", gpus=(GTX1060,)), ["jax"],
        {"jax": ("0.4.25", "cuda11", True)}, cuda="11.8",
        install={"jax": ["jax[cuda11_pip]==0.4.25", "--find-links https://storage.googleapis.com/jax-releases/jax_cuda_releases.html"]},
    ),
    Scenario(  # Python 3.7: torch 2.0+ has no cp37 wheels; 1.13.1 (cu117 = its PyPI wheel) is the newest
        "py37-torch", lambda: make_machine(python="3.7.17", driver="535.104.05", gpus=(RTX3090,)), ["torch"],
        {"torch": ("1.13.1", "cu117", True)}, cuda="11.7",
        reasons={"torch": ["not Python 3.7", "use Python 3.8 (gets torch 2.4.1+cu121"]},
        install={"torch": ["torch==1.13.1"]},
    ),
    Scenario(  # ... and asking for torch >= 2 there is blocked, with the Python fix
        "py37-torch2-blocked", lambda: make_machine(python="3.7.17", driver="535.104.05", gpus=(RTX3090,)), ["torch>=2"],
        {"torch": (None, "none", False)}, cuda=None, blocked={"torch"},
        fixes={"torch": ["use Python 3.8"]},
    ),
    Scenario(  # no GPU at all: CPU builds, the CPU index for torch (no 3 GB of CUDA wheels), nothing blocked
        "no-gpu-torch", lambda: load_machine("no-gpu"), ["torch"],
        {"torch": ("2.14.1", "cpu", False)}, cuda=None,
        reasons={"torch": ["no NVIDIA GPU"]},
        install={"torch": ["torch==2.14.1+cpu", "https://download.pytorch.org/whl/cpu"]},
    ),
    Scenario(
        "no-gpu-tf-jax-ort", lambda: load_machine("no-gpu"), ["tensorflow", "jax", "onnxruntime"],
        {"tensorflow": ("2.21.0", "cpu", False), "jax": ("0.11.2", "cpu", False), "onnxruntime": ("1.31.1", "cpu", False)},
        cuda=None, install={"onnxruntime": ["onnxruntime==1.31.1"], "tensorflow": ["tensorflow==2.21.0"]},
    ),
    Scenario(  # CuPy has no CPU build: blocked on a machine without a GPU
        "no-gpu-cupy", lambda: load_machine("no-gpu"), ["cupy"],
        {"cupy": (None, "none", False)}, blocked={"cupy"}, fixes={"cupy": ["NumPy"]},
    ),
    Scenario(  # GPU on the PCI bus but no driver: CPU now, install the driver
        "no-driver-torch", lambda: make_machine(pci=1), ["torch"],
        {"torch": ("2.14.1", "cpu", False)}, blocked={"torch"},
        fixes={"torch": ["install the NVIDIA driver >= 525.60.13"]},
    ),
    Scenario(  # macOS: no CUDA; CPU (MPS) wheel from PyPI
        "macos-torch", lambda: make_machine(os="macos", arch="arm64"), ["torch"],
        {"torch": ("2.14.1", "cpu", False)}, cuda=None, reasons={"torch": ["macOS has no CUDA"]},
        install={"torch": ["pip install torch==2.14.1"]},
    ),
    Scenario(  # Windows: PyPI's torch is CPU-only, CUDA builds come from the PyTorch index
        "win-rtx3060-torch", lambda: make_machine(os="windows", driver="560.94", gpus=(RTX3060,)), ["torch"],
        {"torch": ("2.14.1", "cu126", True)},
        install={"torch": ["torch==2.14.1+cu126", "--index-url https://download.pytorch.org/whl/cu126"]},
        reasons={"torch": ["CUDA 13.x builds need driver >= 580.65.06"]},
    ),
    Scenario(  # WSL2 runs on the Windows driver: its numbering applies (12.x needs >= 527.41)
        "wsl-old-driver-torch", lambda: make_machine(wsl=True, driver="526.98", gpus=(RTX3060,)), ["torch"],
        {"torch": ("2.7.1", "cu118", True)}, reasons={"torch": ["CUDA 12.x builds need driver >= 527.41"]},
    ),
    # --- H200 + driver 580 --------------------------------------------------------------------------------
    Scenario(
        "h200-torch", h200, ["torch"], {"torch": ("2.14.1", "cu130", True)}, cuda="13.0",
        install={"torch": ["pip install torch==2.14.1"]},
    ),
    Scenario(  # dlib: a source build with the machine's CUDA 13.0 toolkit (dlib >= 20.0.1 on CUDA 13)
        "h200-dlib", h200, ["dlib"], {"dlib": ("20.0.1", "source", True)}, cuda="13.0",
        install={"dlib": ["gpuready build dlib --version 20.0.1 --cuda-arch 9.0"]},
    ),
    Scenario(  # dlib 20.0.0 cannot use CUDA 13: the plan falls back to a CUDA 12 toolkit from pip wheels
        "h200-dlib-20.0.0", h200, ["dlib==20.0.0"], {"dlib": ("20.0.0", "source", True)}, cuda="12.9",
        reasons={"dlib": ["silently turns CUDA off"]},
    ),
    Scenario(  # torch and dlib share CUDA 13
        "h200-torch-dlib", h200, ["torch", "dlib"], {"torch": ("2.14.1", "cu130", True), "dlib": ("20.0.1", "source", True)},
        cuda="13.0",
    ),
    Scenario(  # TensorFlow has CUDA 12 builds only: torch follows it to cu126 (one cuDNN copy in the env)
        "h200-torch-tensorflow", h200, ["torch", "tensorflow"],
        {"torch": ("2.14.1", "cu126", True), "tensorflow": ("2.21.0", "and-cuda", True)}, cuda="12.9",
        reasons={"torch": ["would be chosen alone", "shared with tensorflow"]},
    ),
    Scenario(
        "h200-opencv", h200, ["opencv"], {"opencv": ("4.14.0.94", "source", True)}, cuda="13.0",
        install={"opencv": ["gpuready build opencv --version 4.14.0.94"]},
    ),
    Scenario(  # OpenCV 5's dnn engine is CPU only: asking for >= 5 means no CUDA dnn, blocked with the fix
        "h200-opencv5", h200, ["opencv-python>=5"], {"opencv": ("5.0.0.93", "cpu", False)}, blocked={"opencv"},
        reasons={"opencv": ["CPU"]}, fixes={"opencv": ["relax your requirement"]},
        install={"opencv": ["opencv-python==5.0.0.93"]},
    ),
    Scenario(  # face_recognition rides on a CUDA dlib; installed with --no-deps and setuptools<82
        "h200-face-recognition", h200, ["face_recognition"],
        {"face_recognition": ("1.3.0", "noarch", True), "dlib": ("20.0.1", "source", True)},
        install={"face_recognition": ["--no-deps", "face_recognition==1.3.0", "setuptools<82"]},
        reasons={"face_recognition": ["uses the GPU only through dlib"]},
    ),
    Scenario(
        "no-gpu-face-recognition", lambda: load_machine("no-gpu"), ["face_recognition"],
        {"face_recognition": ("1.3.0", "noarch", False), "dlib": ("20.0.1.post1", "cpu", False)},
        install={"dlib": ["dlib-bin==20.0.1.post1"]},
    ),
    Scenario(  # theano is dead: PyTensor with its JAX backend instead, and why
        "h200-theano", h200, ["theano"], {"pytensor": ("3.3.0", "noarch", True), "jax": ("0.11.2", "cuda13", True)},
        absent={"theano"}, reasons={"pytensor": ["replaces theano", "mode='JAX'"]},
    ),
    Scenario(  # no JAX GPU wheels for native Windows: PyTensor on CPU, fix = WSL2/Linux
        "win-theano", lambda: make_machine(os="windows", driver="560.94", gpus=(RTX3060,)), ["theano"],
        {"pytensor": ("3.3.0", "noarch", False), "jax": ("0.11.2", "cpu", False)}, blocked={"jax"},
        fixes={"jax": ["Linux"]},
    ),
    Scenario(  # onnxruntime-gpu 1.27+ is CUDA 13; the CPU package must go first
        "h200-onnxruntime", h200, ["onnxruntime"], {"onnxruntime": ("1.31.1", "gpu", True)}, cuda="13.0",
        install={"onnxruntime": ["onnxruntime-gpu[cuda,cudnn]==1.31.1"]},
        reasons={"onnxruntime": ["uninstall the CPU package"]},
    ),
    Scenario(  # driver 535: onnxruntime stays on CUDA 12 (1.21-1.26 need a 12.8 runtime), shared with torch cu126
        "driver535-torch-onnxruntime", lambda: make_machine(driver="535.104.05", gpus=(A100,)), ["torch", "onnxruntime"],
        {"torch": ("2.14.1", "cu126", True), "onnxruntime": ("1.26.0", "gpu", True)},
    ),
    Scenario(  # driver 470: the last CUDA 11.8 / cuDNN 8 onnxruntime-gpu on PyPI
        "driver470-onnxruntime", lambda: make_machine(python="3.10.12", driver="470.82.01", gpus=(RTX3090,)), ["onnxruntime"],
        {"onnxruntime": ("1.18.1", "gpu", True)}, cuda="11.8",
    ),
    Scenario(
        "h200-cupy", h200, ["cupy"], {"cupy": ("14.2.0", "cuda13x", True)}, install={"cupy": ["cupy-cuda13x[ctk]==14.2.0"]},
    ),
    Scenario(  # asking for cupy-cuda12x keeps CUDA 12
        "h200-cupy-cuda12x", h200, ["cupy-cuda12x"], {"cupy": ("14.2.0", "cuda12x", True)},
    ),
    Scenario(  # driver 410 + Python 3.8: CuPy 9.6.0 still had a CUDA 10.0 wheel; it uses the system CUDA 10.0
        "v100-driver410-cupy", lambda: load_machine("ubuntu1804-v100-cuda10"), ["cupy"],
        {"cupy": ("9.6.0", "cuda100", True)}, cuda="10.0",
        reasons={"cupy": ["uses the system CUDA 10.0"]},
    ),
    Scenario(  # companions: torchvision alone brings torch, paired by release
        "rtx5090-torchvision", lambda: load_machine("rtx5090-torch-cu118"), ["torchvision", "torchaudio"],
        {"torchvision": ("0.26.0", "cu128", True), "torchaudio": ("2.11.0", "cu128", True), "torch": ("2.11.0", "cu128", True)},
        install={"torchvision": ["torchvision==0.26.0+cu128"], "torchaudio": ["torchaudio==2.11.0", "whl/cu128"]},
    ),
    Scenario(
        "tensorflow-gtx1060-linux", lambda: make_machine(driver="580.95.05", gpus=(GTX1060,)), ["tensorflow"],
        {"tensorflow": ("2.21.0", "and-cuda", True)}, cuda="12.9",
    ),
    Scenario(  # a pinned variant is honoured
        "pin-variant", lambda: make_machine(driver="580.95.05", gpus=(RTX4090,)), ["torch==2.4.1+cu121"],
        {"torch": ("2.4.1", "cu121", True)}, cuda="12.1",
    ),
    Scenario(  # a constraint that nothing satisfies is blocked with "relax"
        "impossible-constraint", lambda: make_machine(driver="580.95.05", gpus=(RTX4090,)), ["torch>=99"],
        {"torch": (None, "none", False)}, blocked={"torch"}, fixes={"torch": ["relax your requirement torch>=99"]},
    ),
    Scenario(  # a GTX 1060 with a CUDA 13 toolkit: nvcc 13 cannot build sm_61, so dlib uses CUDA 12 wheels
        "gtx1060-cuda13-toolkit-dlib", lambda: make_machine(driver="580.95.05", gpus=(GTX1060,), toolkits=(CUDA13,)), ["dlib"],
        {"dlib": ("20.0.1", "source", True)}, cuda="12.9",
    ),
    Scenario(  # Python 3.15: no TensorFlow wheels at all (2.21 stops at 3.13): blocked, use Python 3.13
        "py315-tensorflow", lambda: make_machine(python="3.15.0", driver="580.95.05", gpus=(RTX4090,)), ["tensorflow"],
        {"tensorflow": (None, "none", False)}, blocked={"tensorflow"}, fixes={"tensorflow": ["use Python 3.13"]},
    ),
    Scenario(  # TensorFlow is CUDA 12 only and onnxruntime >= 1.27 CUDA 13 only: one of them must give way
        "h200-tf-vs-ort-cuda13", h200, ["tensorflow", "onnxruntime>=1.27"],
        {"tensorflow": ("2.21.0", "and-cuda", True), "onnxruntime": ("1.31.1", "cpu", False)}, blocked={"onnxruntime"},
        fixes={"onnxruntime": ["drop tensorflow or plan onnxruntime in its own environment"]},
    ),
    Scenario(  # Grace Hopper (Linux aarch64): torch's aarch64 cu130 build, jax's aarch64 CUDA 13 wheels; no known TF GPU build
        "gh200-aarch64", lambda: make_machine(arch="aarch64", driver="580.95.05", gpus=(("NVIDIA GH200 480GB", "9.0"),)),
        ["torch", "jax", "tensorflow"],
        {"torch": ("2.14.1", "cu130", True), "jax": ("0.11.2", "cuda13", True), "tensorflow": ("2.21.0", "cpu", False)},
        blocked={"tensorflow"}, fixes={"tensorflow": ["Linux x86_64"]},
        install={"torch": ["torch==2.14.1+cu130", "--index-url https://download.pytorch.org/whl/cu130"]},
    ),
    Scenario(  # a Kepler K40 (sm_35) on Python 3.12: the newest torch with sm_35 code is 1.7.1 (Python <= 3.9)
        "k40-py312-torch", lambda: make_machine(driver="580.95.05", gpus=(("Tesla K40m", "3.5"),)), ["torch"],
        {"torch": ("2.14.1", "cpu", False)}, blocked={"torch"},
        fixes={"torch": ["use Python 3.9 (gets torch 1.7.1+cu92"]},
    ),
    Scenario(  # the same GPU and JAX: no JAX wheel ever ran on Kepler (SM >= 5.2): nothing to change but the GPU
        "k40-jax", lambda: make_machine(driver="580.95.05", gpus=(("Tesla K40m", "3.5"),)), ["jax"],
        {"jax": ("0.11.2", "cpu", False)}, blocked={"jax"}, fixes={"jax": ["none for this GPU", "compute capability >= 5.2"]},
    ),
    Scenario(  # five packages at once on the H200 (the benchmark's set)
        "h200-five", h200, ["torch", "tensorflow", "jax", "cupy", "onnxruntime"],
        {"torch": ("2.14.1", "cu126", True), "tensorflow": ("2.21.0", "and-cuda", True), "jax": ("0.11.2", "cuda12", True),
         "cupy": ("14.2.0", "cuda12x", True), "onnxruntime": ("1.26.0", "gpu", True)}, cuda="12.9",
    ),
]


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(s: Scenario, monkeypatch):
    plan = make_plan(s.machine(), s.requests, index_config=IndexConfig())
    got = {p.name: p for p in plan.packages}
    for name, (version, variant, gpu) in s.expect.items():
        assert name in got, f"{name} missing from the plan: {list(got)}"
        p = got[name]
        assert (p.version, p.variant, p.gpu) == (version, variant, gpu), "\n".join(p.reasons)
    if s.cuda != "any":
        assert plan.cuda == s.cuda
    assert {b.package for b in plan.blocked} == s.blocked, [b.to_dict() for b in plan.blocked]
    for name, parts in s.reasons.items():
        text = "\n".join(got[name].reasons)
        for part in parts:
            assert part in text, f"{name}: {part!r} not in reasons:\n{text}"
    for name, parts in s.install.items():
        cmd = " ".join(got[name].install)
        for part in parts:
            assert part in cmd, f"{name}: {part!r} not in {cmd!r}"
    for name, parts in s.fixes.items():
        b = next(b for b in plan.blocked if b.package == name)
        text = " | ".join(b.fixes)
        for part in parts:
            assert part in text, f"{name}: {part!r} not in fixes {text!r}"
        assert b.fix == b.fixes[0]
    for name in s.absent:
        assert name not in got


def test_at_least_forty_scenarios():
    assert len(SCENARIOS) >= 40


# --- the contract of to_dict / install argv ------------------------------------------------------------


def test_json_contract_keys():
    plan = make_plan(load_machine("rtx5090-torch-cu118"), ["torch", "dlib"], index_config=IndexConfig())
    d = plan.to_dict()
    assert {"cuda", "cudnn", "packages", "blocked"} <= set(d)
    for p in d["packages"]:
        assert {"name", "version", "variant", "gpu", "index_url", "install", "build", "reasons"} <= set(p)
        assert isinstance(p["install"], list) and isinstance(p["reasons"], list) and p["reasons"]
    torch = d["packages"][0]
    assert torch["install"][:2] == ["pip", "install"]
    assert torch["index_url"] == "https://download.pytorch.org/whl/cu128"


def test_source_build_dict_fallback(monkeypatch):
    """Without gpuready.build, plan fills the build dict itself from the machine."""
    plan = make_plan(h200(), ["dlib"], index_config=IndexConfig())
    b = plan.package("dlib").build
    for key in ("recipe", "version", "cuda_arch_bin", "cuda_root", "nvcc", "cuda_version", "cudnn", "host_compiler",
                "host_compiler_ok", "reasons"):
        assert key in b, key
    assert b["recipe"] == "dlib" and b["version"] == "20.0.1"
    assert b["cuda_arch_bin"] == ["9.0"]
    assert b["cuda_root"] == "/usr/local/cuda-13.0" and b["nvcc"].endswith("bin/nvcc")
    # header and library of the same copy: the newest one (the venv's pip cuDNN 9.19)
    assert b["cudnn"]["version"] == "9.19.0"
    assert b["cudnn"]["include_dir"] == f"{SITE}/nvidia/cudnn/include"
    assert b["cudnn"]["library"].startswith(f"{SITE}/nvidia/cudnn/lib/")
    assert b["host_compiler"] == "/usr/bin/g++" and b["host_compiler_ok"] is True  # the system g++, not /opt/gcc
    assert b["env"]["CUDAARCHS"] == "90" and b["env"]["DLIB_USE_CUDA"] == "ON"
    text = "\n".join(b["reasons"])
    assert "9.14.0" in text and "libcudnn.so" in text


def test_source_build_dict_from_pip_toolkit(monkeypatch):
    plan = make_plan(make_machine(driver="575.57.08", gpus=(RTX4090,)), ["opencv"], index_config=IndexConfig())
    p = plan.package("opencv")
    assert (p.version, p.variant, p.gpu) == ("4.14.0.94", "source", True)
    b = p.build
    assert b["toolkit_source"] == "pip-wheels" and b["cuda_version"] == "12.9"
    assert any(x.startswith("cuda-toolkit[") and x.endswith("==12.9.*") for x in b["toolkit_requirements"])
    assert b["cudnn"]["origin"] == "pip-wheels" and "nvidia-cudnn-cu12==9.*" in b["toolkit_requirements"]
    assert "-DCUDA_ARCH_BIN=8.9" in b["cmake_args"]
    assert "from NVIDIA's pip wheels" in "\n".join(b["reasons"])


def test_host_compiler_too_new_uses_a_toolkit_that_accepts_it(monkeypatch):
    """gcc 14 with a system nvcc 12.4 (accepts gcc <= 13): CUDA 12.8 from pip wheels accepts gcc 14."""
    m = make_machine(driver="550.54.14", gpus=(RTX4090,), toolkits=(CUDA124,), compilers=(Compiler("gcc", "14.2.0", "/usr/bin/g++"),))
    b = make_plan(m, ["dlib"], index_config=IndexConfig()).package("dlib").build
    # the smallest step up from the driver's own CUDA (12.4) whose nvcc accepts gcc 14 is 12.8
    assert b["host_compiler_ok"] is True and b["toolkit_source"] == "pip-wheels" and b["cuda_version"] == "12.8"


def test_host_compiler_too_new_for_every_toolkit(monkeypatch):
    """gcc 16: no CUDA 12 nvcc accepts it and CUDA 13 needs a 580 driver: say so, name the compiler to install."""
    m = make_machine(driver="550.54.14", gpus=(RTX4090,), toolkits=(CUDA124,), compilers=(Compiler("gcc", "16.1.0", "/usr/bin/g++"),))
    b = make_plan(m, ["dlib"], index_config=IndexConfig()).package("dlib").build
    assert b["host_compiler_ok"] is False and b["cuda_root"] == "/usr/local/cuda-12.4"
    assert "accepts gcc <= 13: install one" in "\n".join(b["problems"])


def test_host_compiler_picks_the_accepted_one(monkeypatch):
    m = make_machine(driver="550.54.14", gpus=(RTX4090,), toolkits=(CUDA124,),
                     compilers=(Compiler("gcc", "14.2.0", "/usr/bin/g++"), Compiler("gcc", "13.3.0", "/usr/bin/g++-13")))
    b = make_plan(m, ["dlib"], index_config=IndexConfig()).package("dlib").build
    assert b["host_compiler"] == "/usr/bin/g++-13" and b["host_compiler_ok"] is True


@pytest.mark.parametrize("name", sorted(p.stem for p in MACHINES.glob("*.json")))
def test_plan_shows_exactly_what_the_build_stage_builds(name):
    """One source-build decision: the plan's build dict is the build stage's own settings for that machine."""
    from gpuready.build.settings import build_settings

    m = load_machine(name)
    for pkg in ("dlib", "opencv"):
        p = make_plan(m, [pkg], index_config=IndexConfig()).package(pkg)
        if p is None or p.build is None:
            continue
        assert p.build == build_settings(m, pkg, p.version, cuda_major=int(p.build["cuda_version"].split(".")[0])), pkg
        alone = {k: v for k, v in build_settings(m, pkg, p.version).items() if k != "reasons"}
        assert {k: v for k, v in p.build.items() if k != "reasons"} == alone, f"{pkg}: alone, the build stage decides the same"


def test_unknown_package_is_a_request_error():
    with pytest.raises(RequestError, match="does not know 'numpyy'"):
        make_plan(load_machine("no-gpu"), ["numpyy"], index_config=IndexConfig())


# --- install_hint (doctor's fix column) -------------------------------------------------------------------


@pytest.fixture
def no_user_index(monkeypatch):
    monkeypatch.setattr("gpuready.plan.hint.read_index_config", lambda **kw: IndexConfig())


def test_install_hint_v100_driver410(no_user_index):
    hint = install_hint(load_machine("ubuntu1804-v100-cuda10"), "torch")
    assert hint.startswith("driver 410.79 runs CUDA <= 10.0 builds: pip install torch==1.7.1+cu92")
    assert "(or upgrade the driver to >= 450.80.02 for torch 2.4.1+cu118)" in hint


def test_install_hint_rtx5090(no_user_index):
    hint = install_hint(load_machine("rtx5090-torch-cu118"), "torch")
    assert "pip install torch==2.11.0+cu128 --index-url https://download.pytorch.org/whl/cu128" in hint
    assert "580.65.06" in hint


def test_install_hint_other_packages(no_user_index, monkeypatch):
    assert install_hint(load_machine("no-gpu"), "torch") == ""
    assert install_hint(h200(), "cv2") == ("no CUDA wheels of opencv exist: a source build with CUDA 13.0.88 for 9.0: "
                                           "gpuready build opencv --version 4.14.0.94 --cuda-arch 9.0")
    theano = install_hint(h200(), "theano")
    assert "pytensor==3.3.0" in theano and "jax[cuda13]==0.11.2" in theano
    ort = install_hint(h200(), "onnxruntime")
    assert ort.startswith("pip uninstall -y onnxruntime && pip install 'onnxruntime-gpu[cuda,cudnn]==1.31.1'")
    assert install_hint(h200(), "not-a-package") == ""


def test_doctor_uses_the_plan_hint(no_user_index):
    from gpuready.plan.hint import gpu_install_hint as doctor_hint

    assert "torch==2.11.0+cu128" in doctor_hint(load_machine("rtx5090-torch-cu118"), "torch")


# --- speed -------------------------------------------------------------------------------------------------


def test_five_packages_plan_fast():
    """The issue asks for <= 200 ms for five packages; warm planning is far below (see benchmarks/bench_plan.py)."""
    m = h200()
    make_plan(m, ["torch"], index_config=IndexConfig())  # load the knowledge once
    t0 = time.perf_counter()
    make_plan(m, ["torch", "tensorflow", "jax", "cupy", "onnxruntime"], index_config=IndexConfig())
    assert time.perf_counter() - t0 < 0.2


def test_build_stage_settings_for_another_cuda_major_are_replaced():
    """TensorFlow keeps the plan on CUDA 12; the build stage, asked for CUDA 12, builds dlib with CUDA 12 too
    (alone it would take the CUDA 13 system toolkit), and install is told so with --cuda-major."""
    plan = make_plan(h200(), ["tensorflow", "dlib"], index_config=IndexConfig())
    p = plan.package("dlib")
    b = p.build
    assert plan.cuda.startswith("12.") and b["cuda_version"].startswith("12.") and b["toolkit_source"] == "pip-wheels"
    assert "kept on CUDA 12 for this plan" in "\n".join(p.reasons)
    assert p.install[p.install.index("--cuda-major") + 1] == "12"


def test_python_315_gets_the_unconfirmed_torch_215():
    p = make_plan(make_machine(python="3.15.0", driver="580.95.05", gpus=(RTX4090,)), ["torch"], index_config=IndexConfig()).package("torch")
    assert (p.version, p.variant, p.confirmed) == ("2.15.0", "cu130", False)
    assert any("not confirmed" in r for r in p.reasons)
