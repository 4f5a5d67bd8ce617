#!/usr/bin/env bash
# Everything issue 15 needs a GPU for, on the H200 device machine (no network there): CUDA dlib and
# OpenCV built from source, the CPU baseline bench makes itself, onnxruntime-gpu carried in parts,
# then verify and bench (detectors, faces-per-frame scaling, charts, JSON with the GPU state).
#
# The machine keeps /tmp while it stays warm (about 30 s after a call), so the work is split into
# consecutive calls, each one a phase of this script, run from the repository root (what the device
# tool sends). Each call writes what it wants back into $OUT (at most 8 files, 16 MiB each).
#
#   call  phase                                   carry                          what it does (wall, 16 cores)
#   1     bash tools/gpu_bench_cases.sh start     [".carry/bench", ".carry/sdist", ".whl"]  copies the sources, starts the 3 builds
#                                                                                 in the background (setsid) and returns
#   2-6   bash tools/gpu_bench_cases.sh ort-part N [".carry/ort/pN"]  N = 1..5     appends part N of onnxruntime-gpu to /tmp/ort
#                                                                                 (the wheel split in 5, or its xz'd tree in 4)
#   +     bash tools/gpu_bench_cases.sh frm-part N [".carry/frm/pN"]  N = 1..2     part N of the face_recognition_models wheel
#                                                                                 (100 MB: it does not fit one call) to /tmp/frm
#   7     bash tools/gpu_bench_cases.sh prep      []                             waits for the builds (about 7 min from call 1),
#                                                                                 installs what they made, verify of every framework
#   8     bash tools/gpu_bench_cases.sh bench     []                             bench dlib face_recognition (auto CPU baseline)
#   7     bash tools/gpu_bench_cases.sh bench2    []                             bench cv2 onnxruntime torch jax cupy, the charts
#                                                                                 from calls 6+7, the merged JSON
#   8     bash tools/gpu_bench_cases.sh extra     []                             the same dlib/face_recognition rows against the
#                                                                                 dlib-bin wheel and with no baseline; --compare
#
# Run the calls back to back (the machine is given back after ~30 s idle; a fresh one has lost /tmp:
# start again at call 1). Use timeout_s=600 for each. What each call carries is made on the dev box by
# tools/gpu_ort_carry.md (ORT parts) and the report of issue 15 (.carry/bench, .carry/sdist).
set -u
PHASE=${1:-help}
ROOT=$(pwd)
W=/tmp/grb
PY=${GR_PYTHON:-/opt/torch/.venv/bin/python3}
SITE=/tmp/site        # onnxruntime-gpu and the CUDA OpenCV go here (PYTHONPATH), not over the venv's CPU copies
OUT=${OUT:-$W/out}
mkdir -p "$W" "$OUT" "$SITE"
export PYTHONUNBUFFERED=1 GPUREADY_HOME=$W/home GPUREADY_CACHE_DIR=$W/wheels
export PYTHONPATH=$SITE:$ROOT/src
GR="$PY -m gpuready"
say() { echo "== $(date -u +%H:%M:%S) $*"; }

builds() {  # runs detached (phase start): the three builds at once; each writes its JSON and log
  cd "$ROOT"
  ( $GR build dlib --sdist $W/src/dlib-20.0.1.tar.gz --no-progress --json > $W/build-dlib.json 2> $W/build-dlib.err; echo "dlib rc=$?" >> $W/builds.status ) &
  ( $GR build opencv --sdist $W/src/ocv-trim-4.14.0.94.tar.gz --no-progress --json > $W/build-opencv.json 2> $W/build-opencv.err; echo "opencv rc=$?" >> $W/builds.status ) &
  ( $PY - > $W/baseline.json 2> $W/baseline.err <<EOF
import json, sys
from pathlib import Path
from gpuready.bench.baseline import make_baseline, BaselineError
from gpuready.verify.local import local_machine
try:
    b = make_baseline(local_machine(None), offline=Path("$W/off"), prefer="source", progress=lambda m: print(m, file=sys.stderr))
    print(json.dumps(b.to_dict(), indent=2))
except BaselineError as exc:
    print(json.dumps({"error": str(exc)}))
    sys.exit(1)
EOF
    echo "baseline rc=$?" >> $W/builds.status ) &
  wait
  date -u +%s > $W/builds.done
}

wait_builds() {  # up to $1 seconds
  local n=0
  while [ ! -f $W/builds.done ] && [ $n -lt "$1" ]; do sleep 5; n=$((n + 5)); done
  say "builds: $(cat $W/builds.status 2>/dev/null | tr '\n' ' ') $( [ -f $W/builds.done ] && echo done || echo STILL RUNNING)"
}

install_built() {  # the CUDA dlib and face_recognition into the venv (as a user would), the CUDA OpenCV into $SITE
  [ -f $W/installed ] && return
  local dlib ocv
  dlib=$(ls $W/wheels/dlib-*+cu[0-9]*.whl 2>/dev/null | head -1)
  ocv=$(ls $W/wheels/opencv_contrib_python_headless-*+cu[0-9]*.whl 2>/dev/null | head -1)
  frm_join
  [ -n "$dlib" ] && $PY -m pip install -q --no-index --no-deps "$dlib" $W/src/face_recognition-1.3.0-*.whl $W/src/face_recognition_models-*.whl
  [ -n "$ocv" ] && $PY -m pip install -q --no-index --no-deps --target $SITE "$ocv"
  ort_install
  touch $W/installed
  $PY -m pip list 2>/dev/null | grep -i -E "dlib|face|opencv|onnx|torch |numpy" ; ls $SITE
}

frm_join() {  # the face_recognition_models wheel, carried in parts (tools/gpu_bench_cases.sh frm-part N)
  ls $W/src/face_recognition_models-*.whl > /dev/null 2>&1 && return
  ls /tmp/frm/frm.part* > /dev/null 2>&1 || { say "no face_recognition_models parts in /tmp/frm"; return; }
  local name; name=$(cat /tmp/frm/NAME)
  cat /tmp/frm/frm.part* > "$W/src/$name"
  (cd $W/src && sha256sum -c /tmp/frm/SHA256SUMS) || { say "face_recognition_models parts do not join: sha256 mismatch"; rm -f "$W/src/$name"; }
}

ort_install() {  # join the parts, check the sha256 (PyPI's own for the wheel), install into $SITE
  [ -d $SITE/onnxruntime ] && return
  if ls /tmp/ort/ort.whl.part* > /dev/null 2>&1; then  # the wheel itself in 5 parts (no repacking: PyPI's sha256)
    local name; name=$(cat /tmp/ort/NAME)
    cat /tmp/ort/ort.whl.part* > "/tmp/ort/$name"
    (cd /tmp/ort && sha256sum -c SHA256SUMS) || { say "onnxruntime-gpu parts do not join: sha256 mismatch"; return; }
    $PY -m pip install -q --no-index --no-deps --no-compile --target $SITE "/tmp/ort/$name"
  elif ls /tmp/ort/ort.tar.xz.part* > /dev/null 2>&1; then  # the unpacked tree, xz'd (tools/gpu_ort_carry.md)
    cat /tmp/ort/ort.tar.xz.part* > /tmp/ort/ort.tar.xz
    (cd /tmp/ort && sha256sum -c SHA256SUMS) || { say "onnxruntime-gpu parts do not join: sha256 mismatch"; return; }
    $PY -c "import tarfile; tarfile.open('/tmp/ort/ort.tar.xz', 'r:xz').extractall('$SITE')"
  else
    say "no onnxruntime-gpu parts in /tmp/ort"; return
  fi
  $PY -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.__file__, o.get_available_providers())"
}

verify_all() {
  $GR verify --timeout 150 2>&1 | tee $OUT/verify.txt
  $GR verify --json --timeout 150 > $OUT/verify.json 2> /dev/null
}

collect() {  # logs and JSONs of the builds into one file of $OUT
  tar -czf "$OUT/$1" -C $W $(cd $W && ls build-*.json build-*.err baseline.json baseline.err builds.status builds.log 2>/dev/null) \
      $(cd $W && ls home/baselines/*/build.log home/logs 2>/dev/null) 2>/dev/null
}

case "$PHASE" in
start)
  mkdir -p $W/src $W/off /tmp/ort
  # gpuready's own dependencies (pure-Python wheels carried in .whl/, when the venv lacks them)
  [ -d .whl ] && $PY -m pip install -q --no-index --no-deps --no-compile --target $SITE .whl/*.whl
  $PY -c "import click, rich, packaging, platformdirs; print('gpuready deps ok: packaging', packaging.__version__)"
  cp .carry/sdist/dlib-20.0.1.tar.gz .carry/bench/* $W/src/
  cp $W/src/dlib-20.0.1.tar.gz $W/src/scipy_openblas32-*.whl $W/src/dlib_bin-*.whl $W/off/
  rm -f $W/builds.done $W/builds.status $W/installed
  nvidia-smi --query-gpu=name,driver_version,pstate,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv
  grep -m1 "model name" /proc/cpuinfo; nproc; grep -o -w -E "avx512f|avx2|fma" /proc/cpuinfo | sort | uniq -c
  setsid nohup bash tools/gpu_bench_cases.sh _builds > $W/builds.log 2>&1 < /dev/null &
  say "builds started in the background (pid $!); next: ort-part 1..4, then bench"
  ;;
_builds) builds ;;
ort-part)
  N=${2:?part number}
  mkdir -p /tmp/ort
  cp .carry/ort/p$N/* /tmp/ort/
  ls -la /tmp/ort; say "builds so far: $(cat $W/builds.status 2>/dev/null | tr '\n' ' ')"
  ;;
frm-part)
  N=${2:?part number}
  mkdir -p /tmp/frm
  cp .carry/frm/p$N/* /tmp/frm/
  ls -la /tmp/frm; say "builds so far: $(cat $W/builds.status 2>/dev/null | tr '\n' ' ')"
  ;;
ort)  # ORT alone (tools/gpu_ort_carry.md): join, install, verify, bench
  ort_install
  set -o pipefail
  $GR verify onnxruntime 2>&1 | tee $OUT/verify-onnxruntime.txt
  $GR bench onnxruntime cv2 --json > $OUT/bench-ort-cv2.json 2> $OUT/bench-ort-cv2.err
  $PY -c "import json; d=json.load(open('$OUT/bench-ort-cv2.json')); [print(r['framework'], '|', r['workload'], '|', r['speedup']) for r in d['rows']]"
  ;;
prep)  # waits for the builds, installs what they made, verifies every framework (one call: up to ~9 min)
  wait_builds ${WAIT:-420}
  collect builds.tar.gz
  install_built 2>&1 | tee $OUT/install.txt
  [ "${VERIFY:-1}" = 0 ] && exit 0
  verify_all
  ;;
verify) verify_all ;;
bench)
  [ -f $W/installed ] || { wait_builds 300; install_built; }
  set -o pipefail
  say "bench dlib face_recognition (auto CPU baseline, from the offline folder)"
  $GR bench dlib face_recognition --offline $W/off --json --timeout 500 > $W/bench-dlib.json 2> $OUT/bench-dlib.err
  cp $W/bench-dlib.json $OUT/
  $PY - <<EOF | tee $OUT/bench-dlib.txt
import json
d = json.load(open("$W/bench-dlib.json"))
print("GPU state:", json.dumps(d.get("gpu_state"))[:600])
print("CPU baseline:", (d.get("cpu_baseline") or {}).get("description") or d.get("cpu_baseline"))
for r in d["rows"]:
    print("%-28s | %-46s | cpu %-9s | gpu %-9s | %s" % (r["framework"], r["workload"], r["cpu_s"], r["gpu_s"], r["speedup"]))
EOF
  ;;
bench2)
  [ -f $W/installed ] || { wait_builds 300; install_built; }
  set -o pipefail
  say "bench cv2 onnxruntime torch jax cupy"
  $GR bench cv2 onnxruntime torch jax cupy --json --timeout 500 > $W/bench-rest.json 2> $OUT/bench-rest.err
  $PY - <<EOF 2>&1 | tee $OUT/bench.txt
import json, sys
sys.path.insert(0, "$ROOT/src")
from dataclasses import fields
from gpuready.bench.results import BenchRow
from gpuready.bench.plot import plot_speedups, plot_detectors, plot_scaling
parts = [json.load(open(p)) for p in ("$W/bench-dlib.json", "$W/bench-rest.json") if __import__("os").path.exists(p)]
merged = dict(parts[-1])
merged["rows"] = [r for p in parts for r in p["rows"]]
merged["results"] = [r for p in parts for r in p["results"]]
merged["cpu_baseline"] = next((p.get("cpu_baseline") for p in parts if p.get("cpu_baseline")), None)
json.dump(merged, open("$OUT/bench.json", "w"), indent=2)
names = {f.name for f in fields(BenchRow)}
rows = [BenchRow(**{k: v for k, v in r.items() if k in names}) for r in merged["rows"]]
gpu = ", ".join(g["name"] for g in merged["gpus"]) or "no GPU"
sub = "gpuready bench, %s, %s; driver %s" % (merged["date"][:10], merged["hostname"], merged["driver"])
plot_speedups(rows, "$OUT/bench.png", title="GPU speedup over the CPU — " + gpu, subtitle=sub)
plot_detectors(rows, "$OUT/bench-detectors.png", title="Detectors, frames/s: CPU vs GPU — " + gpu, subtitle=sub)
plot_scaling(rows, "$OUT/bench-scaling.png", title="Faces per frame: CPU vs GPU — " + gpu, subtitle=sub)
print("GPU state:", json.dumps(merged.get("gpu_state"))[:800])
print("CPU baseline:", (merged.get("cpu_baseline") or {}).get("description"))
for r in rows:
    print("%-26s | %-52s | cpu %9s | gpu %9s | copies %9s | %s" % (r.framework, r.workload, r.cpu_s and "%.4g" % r.cpu_s,
          r.gpu_s and "%.4g" % r.gpu_s, r.copy_s and "%.3g" % r.copy_s, r.speedup and "%.1fx" % r.speedup))
EOF
  ;;
extra)
  set -o pipefail
  say "dlib/face_recognition against the dlib-bin wheel (the baseline before issue 15), compared with the auto baseline"
  $GR bench dlib face_recognition --cpu-baseline wheel --offline $W/off --repeats 5 --timeout 400 --compare $W/bench-dlib.json 2>&1 | tee $OUT/bench-dlib-bin.txt
  say "no CPU baseline"
  $GR bench dlib face_recognition --cpu-baseline none --quick --repeats 3 2>&1 | tee $OUT/bench-no-baseline.txt
  say "the table of the auto baseline again (reused venv: seconds), as a person sees it"
  $GR bench dlib --offline $W/off --quick --repeats 3 2>&1 | tee $OUT/bench-dlib-table.txt
  $GR bench --help > $OUT/bench-help.txt
  collect logs.tar.gz
  ;;
doctor)  # issue 11's cases (tools/gpu_doctor_cases.sh) with the CUDA dlib this session built
  DLIB_WHEEL=$(ls $W/wheels/dlib-*+cu[0-9]*.whl 2>/dev/null | head -1) EXTRA_PYTHONPATH=$SITE OUT=$OUT PY=$PY \
    bash tools/gpu_doctor_cases.sh
  ;;
*)
  sed -n 2,26p "$0"
  ;;
esac
