"""gpuready explain: the rules data, each signature family (with fixes rendered for saved machines),
ranking, harmless lines, streaming input of any encoding and size, and the command line."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import string
import sys

import pytest
from click.testing import CliRunner

from gpuready.cli import main
from gpuready.explain import Cause, Evidence, explain_blocks, explain_lines, explain_stream, explain_text, top_label
from gpuready.explain.facts import Facts
from gpuready.explain.reader import NotTextError, blocks, sniff
from gpuready.explain.rules import STAGES, Marker, Signature, load_rules, literals_for, parse_condition
from gpuready.explain.scanner import KEEP_LINES, blocks_from_text
from gpuready.findings import LABELS
from gpuready.machine import Driver
from tests.conftest import load_machine


def labels(text: str, *args, **kw) -> list[str]:
    return [c.label for c in explain_text(text, *args, **kw)]


# --- the data ------------------------------------------------------------------------------------


def test_rules_load_and_cover_every_label():
    rs = load_rules()
    produced: dict[str, int] = {}
    for sig in rs.signatures:
        produced[sig.label] = produced.get(sig.label, 0) + 1
        for v in sig.variant:
            if v.label:
                produced[v.label] = produced.get(v.label, 0) + 1
    missing = [label for label in LABELS if produced.get(label, 0) < 2]
    assert not missing, f"labels with fewer than 2 signatures: {missing}"
    assert len(rs.signatures) >= 100


def test_every_rule_names_a_source_url_and_valid_conditions():
    rs = load_rules()
    for item in (*rs.signatures, *rs.markers):
        assert item.source.startswith("https://"), item.id
    for sig in rs.signatures:
        for cond in (*sig.when, *(c for v in sig.variant for c in v.when)):
            parse_condition(cond)  # raises on a typo


def _groups(sig: Signature) -> list[set[str]]:
    return [set(re.compile(p).groupindex) for p in sig.patterns]


def _fact_names() -> set[str]:
    return {name[3:] for name in dir(Facts) if name.startswith("_f_")}


def _marker_captures() -> set[str]:
    return {g for m in load_rules().markers for p in m.patterns for g in re.compile(p).groupindex}


def test_fix_templates_only_use_known_names_and_end_with_a_plain_one():
    known = _fact_names() | _marker_captures()
    for sig in load_rules().signatures:
        own = set().union(*_groups(sig))
        for fixes in (sig.fixes, *(v.fixes for v in sig.variant if v.fixes)):
            for t in fixes:
                for _, name, _, _ in string.Formatter().parse(t):
                    if name:
                        assert name in known | own, (sig.id, name)
            last = fixes[-1]
            assert not [n for _, n, _, _ in string.Formatter().parse(last) if n], (sig.id, "last fix must need no facts")


def test_explanations_only_use_names_every_pattern_captures():
    for sig in load_rules().signatures:
        common = set.intersection(*_groups(sig))
        for expl in (sig.explanation, *(v.explanation for v in sig.variant)):
            for _, name, _, _ in string.Formatter().parse(expl):
                if name:
                    assert name in common or any(name in g for g in _groups(sig)) and "check:" in str(sig.variant), (sig.id, name)


def test_every_pattern_has_a_literal_to_look_for():
    """3+ characters, or 2+ for a gate its author names with (?#gate:...) (checked to be required)."""
    for item in (*load_rules().signatures, *load_rules().markers):
        for p in item.patterns:
            least = 2 if p.startswith("(?#gate:") else 3
            assert all(len(lit.strip()) >= least for lit in literals_for(p)), (item.id, p)


def test_a_named_gate_must_be_required():
    import pytest

    assert literals_for("(?#gate:] :/)\\] :/\\S*nvcc") == ("] :/",)
    with pytest.raises(ValueError):
        literals_for("(?#gate:nvcc)foo|bar")


def test_gates_of_regex_features():
    assert literals_for(r"CUDA driver version is insufficient") == ("cuda driver version is insufficient",)
    assert literals_for(r"foo\d+bar baz|qux quux") == ("bar baz", "qux quux")
    assert set(literals_for(r"\b[A-Z]:\\(?:Users|Program Files)\\")) == {"users", "program files"}
    with pytest.raises(ValueError):
        literals_for(r"\d+ \w+")


# --- driver ---------------------------------------------------------------------------------------


def test_driver_too_old_fix_for_a_saved_machine():
    m = load_machine("ubuntu1804-v100-cuda10")  # driver 410.79, torch 2.4.1 built for CUDA 12.1
    causes = explain_text("RuntimeError: CUDA error: CUDA driver version is insufficient for CUDA runtime version", m, package="torch")
    assert causes[0].label == "driver_too_old"
    assert ">= 530.30.02" in causes[0].fix and "410.79" in causes[0].fix
    assert causes[0].uses_machine


def test_driver_too_old_without_a_machine_is_generic_but_useful():
    c = explain_text("cudaGetDeviceCount returned 35\n-> CUDA driver version is insufficient for CUDA runtime version")[0]
    assert c.label == "driver_too_old" and "Upgrade the NVIDIA driver" in c.fix and "{" not in c.fix


def test_driver_too_old_uses_the_version_the_log_shows():
    log = "| NVIDIA-SMI 470.86       Driver Version: 470.86       CUDA Version: 11.4     |\nnvidia-container-cli: requirement error: unsatisfied condition: cuda>=12.4, please update your driver"
    c = explain_text(log)[0]
    assert c.label == "driver_too_old"
    assert "550.54.14" in c.fix and "470.86" in c.fix


def test_insufficient_driver_on_a_gpu_without_driver_is_driver_missing():
    m = load_machine("h200-driver580")
    no_driver = dataclasses.replace(m, driver=Driver(nvidia_pci_devices=1))
    text = "RuntimeError: Error while calling cudaGetDeviceCount(&num_devices): CUDA driver version is insufficient for CUDA runtime version"
    assert labels(text, no_driver) == ["driver_missing"]
    # A machine merely probed for fixes (the log may come from elsewhere) does not decide the label.
    ex = explain_blocks(blocks_from_text(text), no_driver, machine_explicit=False)
    assert ex.causes[0].label == "driver_too_old"


@pytest.mark.parametrize(
    "text,label",
    [
        ("Failed to initialize NVML: Driver/library version mismatch", "driver_library_mismatch"),
        ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "driver_missing"),
        ('docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].', "driver_missing"),
        ("CUDA error: the provided PTX was compiled with an unsupported toolchain.", "driver_too_old"),
        ("Error 804: forward compatibility was attempted on non supported HW", "driver_library_mismatch"),
    ],
)
def test_driver_family(text, label):
    assert labels(text)[0] == label


def test_container_variant_changes_the_fix():
    log = "$ docker run -it myimage python app.py\nRuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU"
    c = explain_text(log)[0]
    assert c.label == "driver_missing" and "--gpus all" in c.fix


# --- architectures ----------------------------------------------------------------------------------


def test_build_arch_stale_list_fix_uses_the_machines_gpu():
    m = load_machine("h200-driver580")
    c = explain_text("nvcc fatal   : Unsupported gpu architecture 'compute_30'", m, "build")[0]
    assert c.label == "build_arch_unsupported"
    assert "CMAKE_CUDA_ARCHITECTURES=90" in c.fix and "CUDA_ARCH_BIN=9.0" in c.fix
    assert "no longer supports" in c.explanation


def test_build_arch_toolkit_too_old():
    log = "Cuda compilation tools, release 11.0, V11.0.221\nnvcc fatal : Unsupported gpu architecture 'compute_86'"
    c = explain_text(log, None, "build")[0]
    assert c.label == "build_arch_unsupported" and "too old" in c.explanation
    assert "compute_86" in c.fix and "11.0" in c.fix


def test_runtime_arch_fix_for_rtx5090_installs_a_newer_torch():
    m = load_machine("rtx5090-torch-cu118")
    log = "UserWarning: NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch installation."
    c = explain_text(log, m)[0]
    assert c.label == "arch_unsupported" and "sm_120" in c.fix and "torch" in c.fix


def test_old_gpu_variant():
    log = "Found GPU0 GeForce GTX 660 which is of cuda capability 3.0.\nRuntimeError: CUDA error: no kernel image is available for execution on the device"
    c = explain_text(log)[0]
    assert c.label == "arch_unsupported" and "older" in c.explanation


# --- builds -----------------------------------------------------------------------------------------


def test_host_compiler_fix_names_a_compiler():
    c = explain_text("/usr/local/cuda/include/crt/host_config.h:139:2: error: #error -- unsupported GNU version! gcc versions later than 12 are not supported!")[0]
    assert c.label == "host_compiler_unsupported" and "g++-12" in c.fix


def test_host_compiler_fix_uses_an_accepted_compiler_on_the_machine():
    m = load_machine("h200-driver580")  # nvcc 13.0 accepts its gcc 13
    c = explain_text("#error -- unsupported GNU version! gcc versions later than 15 are not supported!", m, "build")[0]
    assert any(f"CUDAHOSTCXX={comp.path}" in c.fix for comp in m.compilers)


def test_toolkit_mismatch_message_split_over_lines():
    log = "RuntimeError:\nThe detected CUDA version (12.1) mismatches the version that was used to compile\nPyTorch (11.8). Please make sure to use the same CUDA versions."
    c = explain_text(log, None, "build")[0]
    assert c.label == "toolkit_mismatch" and "11.8" in c.fix and "12.1" in c.fix


def test_sudo_makes_missing_nvcc_an_environment_problem():
    assert labels("$ sudo python setup.py install\nnvcc: command not found")[0] == "env_mismatch"
    assert labels("$ python setup.py install\nnvcc: command not found")[0] == "build_cuda_not_found"


def test_build_isolation_variant_for_missing_torch():
    log = "  Getting requirements to build wheel ... error\n  ModuleNotFoundError: No module named 'torch'"
    c = explain_text(log, None, "install")[0]
    assert c.label == "env_mismatch" and "--no-build-isolation" in c.fix


# --- platform variants --------------------------------------------------------------------------------


def test_nccl_missing_depends_on_the_os():
    text = "RuntimeError: Distributed package doesn't have NCCL built in"
    assert labels(text, os="windows")[0] == "platform_unsupported"
    assert labels(text, os="linux")[0] == "cpu_only_build"


def test_torch_without_cuda_on_macos_is_platform_unsupported():
    assert labels("AssertionError: Torch not compiled with CUDA enabled", os="macos")[0] == "platform_unsupported"
    assert labels("AssertionError: Torch not compiled with CUDA enabled")[0] == "cpu_only_build"


def test_tensorflow_cpu_only_on_native_windows():
    log = "tensorflow 2.16.1\nNum GPUs Available:  0"
    assert labels(log, os="windows", package="tensorflow")[0] == "platform_unsupported"
    assert labels("tensorflow==2.10.1\nNum GPUs Available:  0", os="windows")[0] == "cpu_only_build"


# --- ranking ----------------------------------------------------------------------------------------------


def test_root_cause_first_and_symptoms_dropped():
    log = (
        "RuntimeError: The NVIDIA driver on your system is too old (found version 11040).\n"
        "RuntimeError: No CUDA GPUs are available\n"
    )
    assert labels(log) == ["driver_too_old"]
    log = "-- DID NOT FIND CUDNN\n-- Disabling CUDA support for dlib.  DLIB WILL NOT USE CUDA"
    assert labels(log, None, "build")[:2] == ["build_cudnn_not_found", "cpu_only_build"]
    log = "nvcc fatal   : Unsupported gpu architecture 'compute_30'\nerror: command '/usr/bin/nvcc' failed with exit code 1\nERROR: Failed building wheel for foo"
    assert labels(log, None, "build") == ["build_arch_unsupported"]


def test_one_cause_per_label_with_merged_evidence():
    log = "ImportError: DLL load failed while importing _C: The specified module could not be found.\nImportError: DLL load failed"
    causes = explain_text(log)
    assert [c.label for c in causes] == ["runtime_lib_missing"]
    assert [e.line for e in causes[0].evidence] == [1, 2]


def test_causes_sorted_by_confidence():
    log = "Permission denied (publickey).\nfatal: Could not read from remote repository.\nERROR: [Errno 13] Permission denied: '/usr/lib/python3/dist-packages/x'"
    causes = explain_text(log)
    assert [c.confidence for c in causes] == sorted((c.confidence for c in causes), reverse=True)


# --- harmless lines -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2023-12-05 09:29:18.697209: E tensorflow/compiler/xla/stream_executor/cuda/cuda_dnn.cc:9342] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered",
        "W tensorflow/stream_executor/platform/default/dso_loader.cc:55] Could not load dynamic library 'libnvinfer.so.6'; dlerror: libnvinfer.so.6: cannot open shared object file: No such file or directory",
        "I tensorflow/core/platform/cpu_feature_guard.cc:182] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.",
        "nvcc warning : The 'compute_50', 'compute_52' and 'sm_50' architectures are deprecated, and may be removed in a future release (Use -Wno-deprecated-gpu-targets to suppress warning).",
        "I tensorflow/stream_executor/platform/default/dso_loader.cc:53] Successfully opened dynamic library libcudart.so.11.0",
        "UserWarning: The detected CUDA version (12.4) has a minor version mismatch with the version that was used to compile PyTorch (12.1). Most likely this shouldn't be a problem.",
    ],
)
def test_harmless_lines_are_never_causes(text):
    assert explain_text(text) == []


def test_clean_log_gives_no_cause_and_top_label_is_empty():
    assert explain_text("Epoch 1/10 - loss 0.3\nDone.") == []
    assert top_label("all good") == ""
    assert top_label("ImportError: libcudnn.so.8: cannot open shared object file: No such file or directory") == "runtime_lib_missing"


# --- the contract ------------------------------------------------------------------------------------------


def test_cause_contract_and_json_shape():
    c = explain_text("ERROR: No matching distribution found for torch==9.9")[0]
    assert isinstance(c, Cause) and isinstance(c.evidence[0], Evidence)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.label = "other"  # type: ignore[misc]
    d = c.to_dict()
    assert list(d) == ["label", "confidence", "evidence", "explanation", "fix"]
    assert d["evidence"] == [{"line": 1, "text": "ERROR: No matching distribution found for torch==9.9"}]
    assert 0.0 <= d["confidence"] <= 1.0 and d["label"] in LABELS
    with pytest.raises(ValueError):
        Cause("no_such_label", 0.5, (), "", "")


def test_stage_must_be_known():
    assert set(STAGES) == {"install", "build", "import", "runtime"}
    with pytest.raises(ValueError):
        explain_text("x", None, "deploy")


def test_doctor_labels_import_errors_through_explain():
    from gpuready.doctor.checks import explain_label as _label_for_text

    m = load_machine("win10-gtx1060-driver411")
    err = "ImportError: Could not find 'cudart64_101.dll'. TensorFlow requires that this DLL be installed in a directory that is named in your %PATH% environment variable."
    assert _label_for_text(err, m) == "runtime_lib_missing"


# --- machine / log consistency ---------------------------------------------------------------------------


def test_machine_of_another_os_is_not_used_for_fixes():
    m = load_machine("h200-driver580")
    ex = explain_blocks(blocks_from_text("ImportError: DLL load failed while importing cv2: The specified module could not be found."), m)
    assert ex.context.machine is None and ex.context.notes
    assert not ex.causes[0].uses_machine


# --- streaming and input ---------------------------------------------------------------------------------


def test_lines_and_text_agree_and_line_numbers_survive_blocks():
    filler = "".join(f"[{i % 100:3d}%] Building CXX object src/f{i}.cpp.o\n" for i in range(50000))
    log = filler + "ImportError: libcudart.so.12: cannot open shared object file: No such file or directory\n" + filler
    by_text = explain_blocks(blocks_from_text(log, size=64 << 10))
    assert by_text.causes[0].evidence[0].line == 50001
    assert by_text.lines == 100001
    assert explain_lines(log.splitlines(True)) == by_text.causes
    assert explain_lines(log.splitlines()) == by_text.causes


def test_memory_stays_bounded_for_repeated_errors():
    log = "CUDA out of memory. Tried to allocate 2.00 MiB\n" * 5000
    ex = explain_blocks(blocks_from_text(log))
    hit = ex.context.hits["torch-cuda-oom"]
    assert len(hit.lines) == KEEP_LINES and hit.last == (5000, "CUDA out of memory. Tried to allocate 2.00 MiB")
    assert len(ex.causes[0].evidence) <= 4


def test_crlf_and_lowercase_expanding_characters():
    log = "İstanbul İİİ\r\nline two\r\nERROR: No matching distribution found for jax\r\n"
    c = explain_text(log)[0]
    assert c.label == "no_matching_distribution" and c.evidence[0].line == 3 and not c.evidence[0].text.endswith("\r")


def _explain_bytes(data: bytes):
    import io

    return explain_stream(io.BytesIO(data))


def test_encodings_and_compression():
    msg = "ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory\n"
    for data in (
        msg.encode("utf-16"),  # PowerShell's `>`
        msg.encode("utf-16-le"),
        codecs_bom(msg),
        gzip.compress(msg.encode()),
        b"\x80\x81 garbage \xc3\x28 not utf-8\n" + msg.encode(),
        msg.encode("cp1252"),
    ):
        ex = _explain_bytes(data)
        assert [c.label for c in ex.causes] == ["runtime_lib_missing"], data[:20]


def codecs_bom(msg: str) -> bytes:
    import codecs

    return codecs.BOM_UTF8 + msg.encode()


def test_binary_input_is_refused():
    with pytest.raises(NotTextError):
        _explain_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 20)
    with pytest.raises(NotTextError):
        sniff(bytes([1, 2, 3, 4, 5, 6, 7]) * 100)
    assert sniff(b"") == "utf-8"


def test_a_huge_line_without_newlines_is_cut_not_buffered():
    import io

    data = b"x" * (3 << 20) + b"\nImportError: libcudart.so.11.0: cannot open shared object file\n"
    out = list(blocks(io.BytesIO(data)))
    assert max(len(b) for b in out) <= (2 << 20) + 10
    assert _explain_bytes(data).causes[0].label == "runtime_lib_missing"


def test_parallel_scan_matches_the_sequential_one(tmp_path):
    from gpuready.explain.parallel import rebatch, scan_parallel
    from gpuready.explain.scanner import Scanner

    filler = "".join(f"/usr/local/cuda/bin/nvcc -c src/k{i}.cu -o k{i}.o -gencode arch=compute_90,code=sm_90\n" for i in range(40000))
    log = filler + "nvcc fatal   : Unsupported gpu architecture 'compute_30'\n" + filler + "Killed signal terminated program cc1plus\n"
    hits, lines = scan_parallel(rebatch(blocks_from_text(log, size=256 << 10), size=512 << 10), 2)
    seq = Scanner(load_rules())
    for b in blocks_from_text(log):
        seq.feed(b)
    assert lines == seq.lines == 80002
    for sig in ("nvcc-unsupported-gpu-arch", "out-of-host-memory"):
        assert hits[sig].lines == seq.hits[sig].lines


# --- command line -----------------------------------------------------------------------------------------


def run_cli(*args, input=None):
    return CliRunner().invoke(main, ["explain", *args], input=input, catch_exceptions=False)


def test_cli_file_terminal_and_json(tmp_path):
    log = tmp_path / "build.log"
    log.write_text("-- Configuring\nCMake Error: Could NOT find CUDNN (missing: CUDNN_LIBRARY)\n")
    r = run_cli("--no-probe", str(log))
    assert r.exit_code == 0 and "build_cudnn_not_found" in r.output and "line 2" in r.output
    r = run_cli("--no-probe", "--json", str(log))
    data = json.loads(r.output)
    assert r.exit_code == 0 and list(data) == ["schema", "schema_version", "causes"]
    assert data["causes"][0]["label"] == "build_cudnn_not_found"
    assert data["causes"][0]["evidence"][0] == {"line": 2, "text": "CMake Error: Could NOT find CUDNN (missing: CUDNN_LIBRARY)"}


def test_cli_stdin_and_clean_log():
    r = run_cli("--no-probe", "--json", input="all fine\n")
    assert r.exit_code == 0 and json.loads(r.output) == {"schema": "gpuready.explain", "schema_version": 1, "causes": []}
    r = run_cli("--no-probe", input="all fine\n")
    assert r.exit_code == 0 and "No problem found" in r.output
    r = run_cli("--no-probe", "--stage", "install", "--package", "tensorflow", "-", input="ReadTimeoutError: HTTPSConnectionPool(host='x', port=443): Read timed out.\n")
    assert r.exit_code == 0 and "network" in r.output


def test_cli_bad_input_exits_2(tmp_path):
    assert run_cli("--no-probe", str(tmp_path / "missing.log")).exit_code == 2
    assert run_cli("--no-probe", str(tmp_path)).exit_code == 2
    binary = tmp_path / "a.out"
    binary.write_bytes(b"\x7fELF\x00\x00\x00" * 200)
    r = run_cli("--no-probe", str(binary))
    assert r.exit_code == 2 and "binary" in r.output
    assert run_cli("--stage", "deploy", "x.log").exit_code == 2
    assert run_cli("--no-probe", "x.log", "--", "true").exit_code == 2


def test_cli_several_files_name_the_file(tmp_path):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("ok\n")
    b.write_text("ok\nok\nOSError: [Errno 28] No space left on device\n")
    data = json.loads(run_cli("--no-probe", "--json", str(a), str(b)).output)
    assert data["causes"][0]["evidence"][0] == {"line": 3, "text": "OSError: [Errno 28] No space left on device", "file": str(b)}


def test_cli_saved_machine_makes_the_fix_concrete(tmp_path):
    from tests.conftest import MACHINES

    log = tmp_path / "e.log"
    log.write_text("nvcc fatal   : Unsupported gpu architecture 'compute_35'\n")
    r = run_cli("--machine", str(MACHINES / "h200-driver580.json"), str(log))
    assert r.exit_code == 0 and "CMAKE_CUDA_ARCHITECTURES=90" in r.output and "for this machine" in r.output


def test_cli_runs_a_command_and_keeps_its_exit_status():
    code = "import sys; print('compiling'); print('nvcc fatal   : Unsupported gpu architecture \\'compute_30\\''); sys.exit(3)"
    r = run_cli("--no-probe", "--", sys.executable, "-c", code)
    assert r.exit_code == 3
    assert "compiling" in r.output and "build_arch_unsupported" in r.output
    r = run_cli("--json", "--", sys.executable, "-c", code)
    data = json.loads(r.output[r.output.index("{"):])
    assert data["command"]["exit_code"] == 3 and data["causes"][0]["label"] == "build_arch_unsupported"


def test_cli_command_success_and_not_found():
    r = run_cli("--json", "--", sys.executable, "-c", "print('fine')")
    assert r.exit_code == 0 and json.loads(r.output[r.output.index("{"):])["causes"] == []
    r = run_cli("--", "definitely-not-a-command-gpuready")
    assert r.exit_code == 2 and "not found" in r.output
    assert run_cli("--").exit_code == 2


def test_a_harmless_notice_silences_its_message_not_the_whole_pasted_line():
    """A log pasted without its line breaks: pip's "[notice]" and "Requirement already satisfied"
    are harmless, the errors between them are not (issue 9: the notice used to hide the error)."""
    one_line = ("pip install -r requirements.txt Requirement already satisfied: requests in c:\\users\\u\\appdata\\local\\programs\\python\\python313\\lib\\site-packages (2.32.3) "
                "ERROR: Could not find a version that satisfies the requirement tensorflow (from versions: none) "
                "[notice] A new release of pip is available: 24.3.1 -> 25.0.1 [notice] To update, run: python.exe -m pip install --upgrade pip "
                "ERROR: No matching distribution found for tensorflow")
    assert top_label(one_line) == "no_matching_distribution"
    # on lines of their own the notices stay harmless
    notices = "[notice] A new release of pip is available: 24.3.1 -> 25.0.1\n[notice] To update, run: python.exe -m pip install --upgrade pip\n"
    assert explain_text(notices) == []


def test_a_cause_seen_only_in_warnings_before_success_is_no_cause():
    """torch's cpp_extension warns it could not check cl's version, then the build and install work."""
    log = ("running build_ext\n"
           "C:\\Python37\\lib\\site-packages\\torch\\utils\\cpp_extension.py:209: UserWarning: Error checking compiler version for cl: [WinError 2] The system cannot find the file specified\n"
           "copying build\\lib.win-amd64-3.7\\support\\_C.cp37-win_amd64.pyd -> support\n"
           "Adding support 0.1 to easy-install.pth file\n")
    assert explain_text(log) == []
    # the same warning in a build that then fails is still its cause
    failed = log.replace("Adding support 0.1 to easy-install.pth file\n", "error: command 'cl.exe' failed: No such file or directory\n")
    assert top_label(failed) == "build_toolchain"


def test_torchs_no_driver_warning_alone_is_a_cpu_runs_noise():
    warning = ("/venv/lib/python3.8/site-packages/torch/cuda/__init__.py:52: UserWarning: CUDA initialization: Found no NVIDIA driver on your system. "
               "Please check that you have an NVIDIA GPU and installed a driver from http://www.nvidia.com/Download/index.aspx (Triggered internally at  /pytorch/c10/cuda/CUDAFunctions.cpp:100.)\n"
               "  return torch._C._cuda_getDeviceCount() > 0\n")
    assert explain_text(warning) == []
    assert top_label(warning + "torch.cuda.is_available() False\n") == "driver_missing"
    assert top_label(warning + "Traceback (most recent call last):\n  File \"t.py\", line 3, in <module>\nRuntimeError: No CUDA GPUs are available\n") == "driver_missing"
    assert top_label("RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver") == "driver_missing"


def test_pips_resolver_notice_is_harmless():
    log = ("ERROR: pip's dependency resolver does not currently take into account all the packages that are installed. This behaviour is the source of the following dependency conflicts.\n"
           "grpcio-tools 1.64.0 requires protobuf<6.0dev,>=5.26.1, but you have protobuf 4.25.6 which is incompatible.\n"
           "Successfully installed protobuf-4.25.6\n")
    assert explain_text(log) == []
