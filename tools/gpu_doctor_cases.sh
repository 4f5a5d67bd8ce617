#!/usr/bin/env bash
# Issue 11 on the GPU machine, in one go (run from the repo root through the device tool):
#   1. baseline: doctor with a real op per framework (what each one loads, by which rule; the node from NVML)
#   2. shadowing: a CPU-only dlib on PYTHONPATH in front of a CUDA dlib in the venv's site-packages
#      (the real CUDA wheel when DLIB_WHEEL=/path/to/dlib-*.whl is carried, else a stand-in whose
#      extension NEEDs libcudnn/libcublas), then the fix doctor prints (unset PYTHONPATH), then doctor again
#   3. hidden GPU: CUDA_VISIBLE_DEVICES= / -1 / a UUID that does not exist, each with doctor and verify
#   4. loaded libraries: torch, jax, cupy as they are, and with LD_LIBRARY_PATH putting the system cuDNN first
# Everything lands under $OUT (default ./out); summary.txt has the lines docs/doctor.md quotes.
# The venv is left as it was found (the stand-in CUDA dlib is removed by a trap).
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
PY=${PY:-/opt/torch/.venv/bin/python3}; [ -x "$PY" ] || PY=python3
export PYTHONPATH=$PWD/src${EXTRA_PYTHONPATH:+:$EXTRA_PYTHONPATH} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
SRC=$PWD/src
GR() { "$PY" -m gpuready "$@"; }
W=$(mktemp -d /tmp/gr-doctor-XXXX)
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
S=$OUT/summary.txt; : > "$S"
say() { echo "$*" | tee -a "$S"; }
run() { # run NAME CMD...: stdout+stderr to $OUT/NAME.txt, exit status and seconds to the summary
  local name=$1; shift
  local t0=$(date +%s%N)
  "$@" > "$OUT/$name.txt" 2>&1; local rc=$?
  say "$name: exit $rc, $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  return 0
}
CREATED=""  # what this script put into the venv, removed again on exit
cleanup() {
  case $CREATED in
    stub) rm -rf "$SITE/dlib" "$SITE/dlib-20.0.1.dist-info" "$SITE"/_dlib_pybind11.cpython-312-x86_64-linux-gnu.so ;;
    wheel) env -u PYTHONPATH "$PY" -m pip uninstall -y -q dlib >/dev/null 2>&1 ;;
  esac
  rm -rf "$W"
}
trap cleanup EXIT

say "date: $(date -u +%FT%TZ)  host: $(hostname)  python: $PY"
"$PY" -c 'import click, rich, packaging, platformdirs; print("deps ok")' >> "$S" 2>&1
"$PY" -c 'import pynvml; print("nvidia-ml-py", getattr(pynvml, "__version__", "?"))' >> "$S" 2>&1
"$PY" -c 'import cuda.pathfinder as p; print("cuda-pathfinder", p.__version__)' >> "$S" 2>&1 || say "cuda-pathfinder: not in $PY (gpuready lends its own copy only when installed with gpuready)"
HAVE_DLIB=""; [ -d "$SITE/dlib" ] && HAVE_DLIB=1 && say "note: $SITE already has a dlib; the shadowing case uses it as the copy behind"

# --- 1. baseline ---------------------------------------------------------------------------------------
run doctor-baseline GR doctor
run doctor-baseline-noop GR doctor --no-op
GR doctor --json > "$OUT/doctor-baseline.json" 2> "$OUT/doctor-baseline-json.err"
GR doctor --markdown > "$OUT/doctor-baseline.md" 2>&1
GR doctor --markdown --no-redact > "$OUT/doctor-baseline-noredact.md" 2>&1

# --- 4a. what each framework loaded, by which rule, and cuda-pathfinder's pick ---------------------------
loaded() { # loaded JSON: one line per framework library
  "$PY" - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for fw in d["machine"]["frameworks"]:
    print(f"{fw['name']} {fw['version']}: status {fw['status']}, op {fw.get('details', {}).get('op', '-')}, built cuDNN {fw.get('built_cudnn') or '?'}")
    for lib in fw.get("loaded", []):
        print(f"   loads {lib['name']:9} {lib['version'] or '?':12} {lib['path']}  [{lib['rule']}: {lib['rule_detail']}]")
    for lib in fw.get("would_load", []):
        print(f"   pathfinder {lib['name']:9} {lib['version'] or '?':12} {lib['path']}  [{lib['rule_detail']}]")
for g in d["machine"]["gpus"]:
    print("GPU", g["index"], {k: g.get(k) for k in ("persistence_mode", "ecc_uncorrected_volatile", "ecc_uncorrected_aggregate", "retired_pages_pending", "remap_pending", "remap_failed", "throttle_reasons", "processes")})
drv = d["machine"]["driver"]
print("driver", {k: drv.get(k) for k in ("cuda_visible_devices", "nvidia_visible_devices", "device_nodes", "nodes_denied", "nouveau_loaded", "kernel_log")}, "xid lines:", len(drv.get("xid", [])))
for f in d["findings"]:
    if f["severity"] in ("error", "warning") or f["label"] in ("library_version_mismatch", "shadowed_install"):
        print(f"FINDING {f['severity']} [{f['label']}] {f['subject']}: {f['message']}")
        print(f"   fix: {f['fix']}")
EOF
}
loaded "$OUT/doctor-baseline.json" > "$OUT/loaded-baseline.txt" 2>&1; cat "$OUT/loaded-baseline.txt" >> "$S"

# --- 4b. the system cuDNN first on LD_LIBRARY_PATH ----------------------------------------------------
SYSCUDNN=$(ls /usr/lib/x86_64-linux-gnu/libcudnn.so.9 2>/dev/null)
if [ -n "$SYSCUDNN" ]; then
  env LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$PY" -m gpuready doctor --json > "$OUT/doctor-ldpath.json" 2> "$OUT/doctor-ldpath.err"
  say "doctor-ldpath (LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu): exit $?"
  env LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$PY" -m gpuready verify torch --timeout 180 > "$OUT/verify-ldpath.txt" 2>&1
  say "verify-ldpath torch: exit $?"
  loaded "$OUT/doctor-ldpath.json" > "$OUT/loaded-ldpath.txt" 2>&1; cat "$OUT/loaded-ldpath.txt" >> "$S"
fi

# --- 3. hidden GPU ------------------------------------------------------------------------------------
for case in empty minus1 baduuid; do
  case $case in empty) v="";; minus1) v="-1";; baduuid) v="GPU-00000000-0000-0000-0000-000000000000";; esac
  say "CUDA_VISIBLE_DEVICES='$v':"
  run "cvd-$case-doctor" env CUDA_VISIBLE_DEVICES="$v" "$PY" -m gpuready doctor
  env CUDA_VISIBLE_DEVICES="$v" "$PY" -m gpuready doctor --json > "$OUT/cvd-$case-doctor.json" 2>/dev/null
  run "cvd-$case-verify" env CUDA_VISIBLE_DEVICES="$v" "$PY" -m gpuready verify torch jax cupy --timeout 180
  env CUDA_VISIBLE_DEVICES="$v" "$PY" -m gpuready verify torch jax cupy --json --timeout 180 > "$OUT/cvd-$case-verify.json" 2>/dev/null
  "$PY" - "$OUT/cvd-$case-doctor.json" "$OUT/cvd-$case-verify.json" <<'EOF' >> "$S" 2>&1
import json, sys
d = json.load(open(sys.argv[1])); v = json.load(open(sys.argv[2]))
probs = [f for f in d["findings"] if f["severity"] in ("error", "warning")]
print(f"  doctor problems: {[(f['label'], f['subject']) for f in probs]}")
for f in probs:
    if f["subject"] == "CUDA_VISIBLE_DEVICES":
        print(f"  doctor says: {f['message']}\n  fix: {f['fix']}")
print(f"  verify: {[(r['name'], r['status'], r['label']) for r in v['results']]}")
print(f"  verify fix (torch): {next((r['fix'] for r in v['results'] if r['name'] == 'torch'), '')}")
EOF
done

# --- 2. shadowing -------------------------------------------------------------------------------------
mkdir -p "$W/cpu-dlib/dlib" "$W/cpu-dlib/dlib-19.24.0.dist-info"
printf 'DLIB_USE_CUDA = False\n__version__ = "19.24.0"\n' > "$W/cpu-dlib/dlib/__init__.py"
printf 'Metadata-Version: 2.1\nName: dlib\nVersion: 19.24.0\n' > "$W/cpu-dlib/dlib-19.24.0.dist-info/METADATA"
echo pip > "$W/cpu-dlib/dlib-19.24.0.dist-info/INSTALLER"   # no RECORD: like a setup.py/CMake install
if [ -n "$HAVE_DLIB" ]; then
  say "shadowing: CUDA copy = the dlib already in $SITE"
elif [ -n "${DLIB_WHEEL:-}" ] && [ -f "$DLIB_WHEEL" ]; then
  env -u PYTHONPATH "$PY" -m pip install -q --no-deps --no-index "$DLIB_WHEEL" > "$OUT/dlib-wheel-install.txt" 2>&1
  say "shadowing: CUDA copy = the real wheel $(basename "$DLIB_WHEEL") (pip exit $?)"; CREATED=wheel
else
  CREATED=stub
  # A stand-in CUDA copy: an extension whose NEEDED list names the real libcudnn/libcublas, beside a dist-info.
  CUDNN_DIR=$(dirname "$(ls "$SITE"/nvidia/cudnn/lib/libcudnn.so.9 2>/dev/null | head -1)")
  CUBLAS=$(ls "$SITE"/nvidia/cu13/lib/libcublas.so.* "$SITE"/nvidia/cublas/lib/libcublas.so.* 2>/dev/null | head -1)
  printf 'int PyInit__dlib_pybind11(void) { return 0; }\n' > "$W/m.c"
  mkdir -p "$SITE/dlib" "$SITE/dlib-20.0.1.dist-info"
  gcc -shared -fPIC -o "$SITE/_dlib_pybind11.cpython-312-x86_64-linux-gnu.so" "$W/m.c" -Wl,--no-as-needed \
      "$CUDNN_DIR/libcudnn.so.9" "$CUBLAS" -Wl,-rpath,"$CUDNN_DIR" > "$OUT/stub-build.txt" 2>&1
  printf 'DLIB_USE_CUDA = True  # stand-in: the extension beside it says so too (NEEDED libcudnn)\nfrom _dlib_pybind11 import *\n' > "$SITE/dlib/__init__.py"
  printf 'Metadata-Version: 2.1\nName: dlib\nVersion: 20.0.1\n' > "$SITE/dlib-20.0.1.dist-info/METADATA"
  echo pip > "$SITE/dlib-20.0.1.dist-info/INSTALLER"
  printf 'dlib/__init__.py,,\n_dlib_pybind11.cpython-312-x86_64-linux-gnu.so,,\n' > "$SITE/dlib-20.0.1.dist-info/RECORD"
  say "shadowing: CUDA copy = a stand-in (extension NEEDs $(basename "$CUDNN_DIR/libcudnn.so.9"), $(basename "$CUBLAS"))"
fi
SHADOW="$SRC:${EXTRA_PYTHONPATH:+$EXTRA_PYTHONPATH:}$W/cpu-dlib"  # gpuready's own src stays first; the CPU dlib is the user's PYTHONPATH entry
run shadow-doctor env PYTHONPATH="$SHADOW" "$PY" -m gpuready doctor
env PYTHONPATH="$SHADOW" "$PY" -m gpuready doctor --json > "$OUT/shadow-doctor.json" 2>/dev/null
env PYTHONPATH="$SHADOW" "$PY" -m gpuready doctor --markdown > "$OUT/shadow-doctor.md" 2>/dev/null
run shadow-verify env PYTHONPATH="$SHADOW" "$PY" -m gpuready verify dlib --timeout 300
"$PY" - "$OUT/shadow-doctor.json" <<'EOF' >> "$S" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
fw = next((f for f in d["machine"]["frameworks"] if f["name"] == "dlib"), None)
for c in (fw or {}).get("copies", []):
    print(f"  copy: active={c['active']} cuda={c.get('cuda')} {c['path']} ({c['dist']} {c['version']}, {c.get('origin')}; {c.get('cuda_evidence')})")
for f in d["findings"]:
    if f["subject"].startswith("dlib"):
        print(f"  {f['severity']} [{f['label']}] {f['message']}")
        if f["fix"]:
            print(f"  fix: {f['fix']}")
print("  cpu_only_build for dlib:", [f["message"] for f in d["findings"] if f["label"] == "cpu_only_build" and f["subject"].startswith("dlib")])
EOF
# the fix doctor gives for a copy on PYTHONPATH: take it off PYTHONPATH; then the CUDA copy must be the one import takes
run shadow-fixed-doctor GR doctor
GR doctor --json > "$OUT/shadow-fixed-doctor.json" 2>/dev/null
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); fw=[f for f in d["machine"]["frameworks"] if f["name"]=="dlib"]; print("  after the fix:", [(c["path"], c["active"], c.get("cuda")) for c in (fw[0]["copies"] if fw else [])], "status", fw[0]["status"] if fw else "-", "cuda_build", fw[0].get("cuda_build") if fw else "-")' "$OUT/shadow-fixed-doctor.json" >> "$S" 2>&1
[ "$CREATED" != stub ] && run shadow-fixed-verify GR verify dlib --timeout 300

cat "$S"
