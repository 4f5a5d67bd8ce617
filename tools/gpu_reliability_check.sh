#!/usr/bin/env bash
# Run on the GPU machine (device tool) from the repo root, in one go (about 5-8 minutes, mostly the dlib build).
# Checks the reliability fixes that need a real GPU (docs/reliability.md): reports on a cp1252 console, a
# build for another machine's GPU (--cuda-arch 8.0 on the sm_90 H200: the GPU run is skipped with a note and
# the binary's fatbin is checked), no duplicate names in cached wheels, and a source download with no
# network being a failed build (exit 1), not exit 70. Everything lands in $OUT (default ./out).
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
PY=${PY:-python3}
sec() { echo; echo "===== $* ====="; }
{
  sec date; date -u; nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader
  sec "doctor on cp1252 (exit 0/1 expected, never 70)"
  PYTHONIOENCODING=cp1252 $PY -m gpuready doctor > "$OUT/doctor-cp1252.txt" 2>&1; echo "exit $?"
  tail -3 "$OUT/doctor-cp1252.txt"
  sec "verify on ascii (exit 0/1 expected)"
  PYTHONIOENCODING=ascii timeout 500 $PY -m gpuready verify --timeout 120 > "$OUT/verify-ascii.txt" 2>&1; echo "exit $?"
  tail -3 "$OUT/verify-ascii.txt"

  sec "build dlib --cuda-arch 8.0 on this GPU (expect exit 0, a 'GPU run was skipped' warning, gpu_code with sm_80)"
  start=$(date +%s)
  timeout 560 $PY -m gpuready build dlib --cuda-arch 8.0 --no-cache --json > "$OUT/build-dlib-sm80.json" 2> "$OUT/build-dlib-sm80.err"
  echo "exit $? after $(( $(date +%s) - start )) s"
  $PY - "$OUT/build-dlib-sm80.json" <<'PYEOF'
import json, sys, zipfile, tempfile, pathlib
try:
    r = json.load(open(sys.argv[1]))
except Exception as exc:
    print("no JSON result:", exc); sys.exit(0)
print("ok", r.get("ok"), "label", r.get("label"), "problems", r.get("problems"))
print("warnings", [w for w in r.get("warnings", []) if "skipped" in w])
print("gpu_code", (r.get("check") or {}).get("gpu_code"))
w = r.get("wheel")
if w:
    from gpuready.elf import fatbin_archs
    with zipfile.ZipFile(w) as zf, tempfile.TemporaryDirectory() as d:
        names = zf.namelist()
        print("duplicate names in the wheel:", sorted({n for n in names if names.count(n) > 1}))
        for n in names:
            if n.endswith(".so") or ".so." in n:
                zf.extract(n, d)
                print(n, fatbin_archs(pathlib.Path(d) / n))
PYEOF

  sec "duplicate names in every cached wheel (expect none in new ones)"
  $PY - <<'PYEOF'
import zipfile, pathlib
from gpuready.paths import wheels_dir
for w in sorted(pathlib.Path(wheels_dir()).glob("*.whl")):
    names = zipfile.ZipFile(w).namelist()
    print(w.name, "duplicates:", sorted({n for n in names if names.count(n) > 1}) or "none")
PYEOF

  sec "no network for the source (expect exit 1 with 'could not download', never 70)"
  tmp=$(mktemp -d)
  GPUREADY_HOME=$tmp GPUREADY_CACHE_DIR=$tmp/wheels GPUREADY_TOOLKIT_DIR=${GPUREADY_TOOLKIT_DIR:-$HOME/.cache/gpuready/toolkits} \
    timeout 300 $PY -m gpuready build dlib --no-cache --index-url http://127.0.0.1:9/simple > "$OUT/build-no-network.txt" 2>&1
  echo "exit $?"; tail -5 "$OUT/build-no-network.txt"; rm -rf "$tmp"
} 2>&1 | tee "$OUT/reliability-check.txt"
