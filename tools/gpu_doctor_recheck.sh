#!/usr/bin/env bash
# Re-check, on the GPU machine in one short device call, the two issue-11 cases fixed after the 2026-12-02 run
# (docs/doctor.md): LD_LIBRARY_PATH putting the system cuDNN first (torch's finding: label, rule, fix), and a CPU
# dlib on PYTHONPATH in front of a CUDA dlib (verify's label and fix). The CUDA dlib is a stand-in whose extension
# NEEDs the wheel's libcudnn/libcublas (tools/gpu_doctor_cases.sh section 2), removed again on exit.
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
PY=${PY:-/opt/torch/.venv/bin/python3}
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
DEPS=/tmp/gr-recheck-deps; W=$(mktemp -d /tmp/gr-recheck-XXXX)
[ -d .whl ] && "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$DEPS" .whl/*.whl > /dev/null 2>&1
export PYTHONPATH=$PWD/src:$DEPS PYTHONDONTWRITEBYTECODE=1
cleanup() { rm -rf "$SITE/dlib" "$SITE/dlib-20.0.1.dist-info" "$SITE"/_dlib_pybind11.cpython-312-x86_64-linux-gnu.so "$W"; }
trap cleanup EXIT
[ -d "$SITE/dlib" ] && { echo "a dlib is already in $SITE: not touching it"; exit 1; }
S=$OUT/recheck.txt
echo "date: $(date -u +%FT%TZ)" | tee "$S"
env LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$PY" -m gpuready doctor --json > "$OUT/ldpath-doctor.json" 2> "$OUT/ldpath-doctor.err"
echo "ldpath doctor exit $?" | tee -a "$S"
"$PY" - "$OUT/ldpath-doctor.json" <<'PYEOF' | tee -a "$S"
import json, sys
d = json.load(open(sys.argv[1]))
for fw in d["machine"]["frameworks"]:
    for lib in fw.get("loaded", []):
        if lib["name"] == "cudnn":
            print(f"  {fw['name']}: cudnn {lib['version']} {lib['path']} [{lib['rule']}: {lib['rule_detail']}]")
for f in d["findings"]:
    if f["severity"] == "error":
        print(f"  {f['severity']} [{f['label']}] {f['subject']}: {f['message'][:260]}\n     fix: {f['fix'][:260]}")
PYEOF
# the shadowing case with a stand-in CUDA copy
mkdir -p "$W/cpu-dlib/dlib" "$W/cpu-dlib/dlib-19.24.0.dist-info"
printf 'DLIB_USE_CUDA = False\n__version__ = "19.24.0"\n' > "$W/cpu-dlib/dlib/__init__.py"
printf 'Metadata-Version: 2.1\nName: dlib\nVersion: 19.24.0\n' > "$W/cpu-dlib/dlib-19.24.0.dist-info/METADATA"
echo pip > "$W/cpu-dlib/dlib-19.24.0.dist-info/INSTALLER"
CUDNN_DIR=$(dirname "$(ls "$SITE"/nvidia/cudnn/lib/libcudnn.so.9 | head -1)")
CUBLAS=$(ls "$SITE"/nvidia/cu13/lib/libcublas.so.* "$SITE"/nvidia/cublas/lib/libcublas.so.* 2>/dev/null | head -1)
printf 'int PyInit__dlib_pybind11(void) { return 0; }\n' > "$W/m.c"
mkdir -p "$SITE/dlib" "$SITE/dlib-20.0.1.dist-info"
gcc -shared -fPIC -o "$SITE/_dlib_pybind11.cpython-312-x86_64-linux-gnu.so" "$W/m.c" -Wl,--no-as-needed "$CUDNN_DIR/libcudnn.so.9" "$CUBLAS" -Wl,-rpath,"$CUDNN_DIR"
printf 'DLIB_USE_CUDA = True\nfrom _dlib_pybind11 import *\n' > "$SITE/dlib/__init__.py"
printf 'Metadata-Version: 2.1\nName: dlib\nVersion: 20.0.1\n' > "$SITE/dlib-20.0.1.dist-info/METADATA"
echo pip > "$SITE/dlib-20.0.1.dist-info/INSTALLER"
printf 'dlib/__init__.py,,\n_dlib_pybind11.cpython-312-x86_64-linux-gnu.so,,\n' > "$SITE/dlib-20.0.1.dist-info/RECORD"
env PYTHONPATH="$PYTHONPATH:$W/cpu-dlib" "$PY" -m gpuready verify dlib --json --timeout 120 > "$OUT/shadow-verify.json" 2> "$OUT/shadow-verify.err"
echo "shadow verify exit $?" | tee -a "$S"
env PYTHONPATH="$PYTHONPATH:$W/cpu-dlib" "$PY" -m gpuready verify dlib --timeout 120 > "$OUT/shadow-verify.txt" 2>&1
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); [print("  verify", r["name"], r["status"], r["label"], "|", r["fix"][:300]) for r in d["results"]]' "$OUT/shadow-verify.json" | tee -a "$S"
