#!/usr/bin/env bash
# Issue 15 in ONE device call (H200, no network): build CUDA dlib from the carried sdist, install it, verify it,
# bench it against the CPU baseline bench makes itself (offline: the carried dlib-bin wheel -- the source build
# is not possible there in time, and bench names the build it used), faces per frame 1/4/16, the charts, doctor.
#
#   run from the repository root:   bash tools/gpu_dlib_bench.sh
#   carry:                           [".carry/dlib1", ".whl"]
#   .carry/dlib1/: dlib-20.0.1.tar.gz, dlib_bin-20.0.1.post1-cp312-...manylinux_2_28_x86_64.whl, mmod_human_face_detector.dat
#   .whl/: gpuready's pure-Python deps the device python lacks (installed into /tmp/site only where needed)
#
# Every step runs under `timeout` against one deadline (GR_DEADLINE seconds from the start, default 465), in order
# of what matters: build (the rest needs it; GR_RESERVE s are kept for what follows), install, bench alone on the
# machine (its per-child --timeout set so that bench itself ends, and prints its JSON with the GPU rows at least,
# GR_VERIFY_RESERVE s before the deadline), then verify and doctor side by side (neither is a timing). Each result is written into
# $OUT as soon as it exists, so a late failure still returns what came before. Files back (8 at most):
#   steps.txt  what ran, when, how long, its exit status; the machine; a summary of every result (read this first)
#   build.json       gpuready build dlib --json                 logs.tar.gz  the build's logs (gpuready's and pip's)
#   verify.json      gpuready verify dlib --json                doctor.json  gpuready doctor --json
#   bench.json       gpuready bench dlib --json (cpu_baseline: build, flags, threads)
#   bench.png, bench-scaling.png                                 the charts (--plot)
#
# GR_DRY=1: no gpuready, no GPU: each step is a fake command (sleep GR_DRY_<STEP> seconds, print fake JSON), so the
# control flow and the time boxes can be tested anywhere (tests/test_gpu_dlib_bench_script.py).
set -u
T0=$(date +%s)
ROOT=$(pwd)
DEADLINE=${GR_DEADLINE:-465}
PY=${GR_PYTHON:-/opt/torch/.venv/bin/python3}
W=${GR_WORK:-/tmp/grd}
CARRY=${GR_CARRY:-$ROOT/.carry/dlib1}
OUT=${OUT:-$W/out}
SITE=/tmp/site
mkdir -p "$W/off" "$W/models" "$OUT" "$SITE"
export PYTHONUNBUFFERED=1 GPUREADY_HOME=$W/home GPUREADY_CACHE_DIR=$W/wheels GPUREADY_MODEL_DIR=$W/models
export PYTHONPATH=$SITE:$ROOT/src
STEPS=$OUT/steps.txt
SELF=$ROOT/tools/gpu_dlib_bench.sh

now() { echo $(( $(date +%s) - T0 )); }
left() { echo $(( DEADLINE - $(now) )); }
say() { echo "[$(printf '%4d' "$(now)") s] $*" | tee -a "$STEPS"; }

gr() {  # gpuready, or (GR_DRY=1) a fake of the same sub-command that takes GR_DRY_<SUB> seconds
  if [ "${GR_DRY:-0}" = 1 ]; then
    local sub=$1 secs
    secs=$(eval echo "\${GR_DRY_$(echo "$1" | tr a-z A-Z):-1}")
    sleep "$secs"
    case "$sub" in
      build) mkdir -p "$GPUREADY_CACHE_DIR"; : > "$GPUREADY_CACHE_DIR/dlib-20.0.1+cu130.sm90-cp312-cp312-linux_x86_64.whl"
             echo "{\"wheel\": \"$GPUREADY_CACHE_DIR/dlib-20.0.1+cu130.sm90-cp312-cp312-linux_x86_64.whl\", \"fake\": true}" ;;
      bench) echo '{"fake": true, "cpu_baseline": {"build": "dlib-bin wheel", "description": "fake", "threads": 1, "cores": 16, "flags": {}}, "rows": []}'
             for a in "$@"; do case "$a" in *.png) : > "$a"; : > "${a%.png}-scaling.png" ;; esac; done ;;
      *) echo "{\"fake\": true, \"sub\": \"$sub\"}" ;;
    esac
    return "${GR_DRY_RC:-0}"
  fi
  "$PY" -m gpuready "$@"
}

if [ "${1:-}" = _gr ]; then shift; gr "$@"; exit; fi  # `timeout` runs programs, not shell functions: it runs this
: > "$STEPS"

# step NAME CAP OUTFILE CMD...: CMD's stdout into OUTFILE, stderr into $W/NAME.err, under timeout min(CAP, time left - 3)
step() {
  local name=$1 cap=$2 out=$3 t rc start
  shift 3
  t=$(left); t=$(( t - 3 )); [ "$cap" -lt "$t" ] && t=$cap
  if [ "$t" -lt 5 ]; then say "$name: SKIPPED (${t} s left before the deadline)"; return 124; fi
  say "$name: start (time box ${t} s)"
  if [ "$1" = gr ]; then shift; set -- bash "$SELF" _gr "$@"; fi
  start=$(date +%s)
  timeout -k 5 "$t" "$@" > "$out" 2> "$W/$name.err"
  rc=$?
  say "$name: rc=$rc in $(( $(date +%s) - start )) s$( [ $rc = 124 ] || [ $rc = 137 ] && echo ' (TIMED OUT)')"
  [ $rc = 0 ] || tail -n 15 "$W/$name.err" | sed 's/^/    /' >> "$STEPS"
  return $rc
}

logs() {  # the build's logs, small, into one file of $OUT
  tar -czf "$OUT/logs.tar.gz" -C "$W" $(cd "$W" && ls ./*.err 2>/dev/null) \
      $(cd "$W" && find home -name '*.log' -size -8M 2>/dev/null | head -40) 2>/dev/null
}

# --- 0: the machine, gpuready's deps, the carried files -----------------------------------------------------
{
  echo "gpu_dlib_bench.sh: deadline ${DEADLINE} s; dry=${GR_DRY:-0}"
  nvidia-smi --query-gpu=name,driver_version,pstate,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv 2>&1 | head -3
  grep -m1 "model name" /proc/cpuinfo; echo "cores: $(nproc)"; grep -o -w -E "avx512f|avx2|fma" /proc/cpuinfo | sort | uniq -c | tr '\n' ' '; echo
  "$PY" -V 2>&1
} >> "$STEPS" 2>&1
if [ -d "$ROOT/.whl" ] && [ "${GR_DRY:-0}" != 1 ]; then
  # only what the device python lacks or has too old (a newer copy on PYTHONPATH shadows the venv's for every child)
  need=$("$PY" - "$ROOT"/.whl/*.whl <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
MIN = {"packaging": "26.1", "platformdirs": "3", "cuda_pathfinder": "1.3", "rich": "13", "click": "8.1", "nvidia_ml_py": "12.535"}
def vt(v):
    return tuple(int(x) for x in (v.split("+")[0].split(".") + ["0", "0"])[:3] if x.isdigit())
for whl in sys.argv[1:]:
    dist = whl.rsplit("/", 1)[-1].split("-")[0]
    try:
        have = version(dist.replace("_", "-"))
    except PackageNotFoundError:
        have = ""
    if not have or vt(have) < vt(MIN.get(dist, "0")):
        print(whl)
EOF
)
  if [ -n "$need" ]; then
    # shellcheck disable=SC2086
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" $need >> "$STEPS" 2>&1
  fi
  say "deps into $SITE: $(echo $need | xargs -n1 basename 2>/dev/null | tr '\n' ' ')"
fi
[ "${GR_DRY:-0}" = 1 ] || "$PY" -c "import gpuready, click, rich, packaging, platformdirs; print('gpuready', gpuready.__version__, 'from', gpuready.__file__)" >> "$STEPS" 2>&1
SDIST=$(ls "$CARRY"/dlib-*.tar.gz 2>/dev/null | head -1)
cp "$CARRY"/dlib_bin-*.whl "$W/off/" 2>/dev/null   # the offline folder: the wheel only (no sdist: no CPU build there)
cp "$CARRY"/mmod_human_face_detector.dat "$W/models/" 2>/dev/null
say "carried: sdist=${SDIST:-MISSING}; offline: $(ls "$W/off" | tr '\n' ' '); model: $(ls -l "$W/models" | awk 'NR>1{print $5, $9}')"

# --- 1: build CUDA dlib (leave GR_RESERVE s, default 110, for the rest) ------------------------------------------------
GR_VERIFY_RESERVE=${GR_VERIFY_RESERVE:-20}  # seconds kept for verify + doctor at the end
BUILD_CAP=$(( $(left) - ${GR_RESERVE:-110} ))
# --no-verify: `verify dlib` below imports it and runs the detector (the build's own import check costs seconds)
step build "$BUILD_CAP" "$OUT/build.json" gr build dlib --sdist "$SDIST" --no-progress --no-verify --json
WHEEL=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1])).get('wheel') or '')" "$OUT/build.json" 2>/dev/null)
[ -n "$WHEEL" ] && [ -f "$WHEEL" ] || WHEEL=$(ls "$GPUREADY_CACHE_DIR"/dlib-*+cu[0-9]*.whl 2>/dev/null | head -1)
say "built wheel: ${WHEEL:-NONE}"
logs

# --- 2: install, then bench alone on the machine with the time left ----------------------------------------
if [ -n "$WHEEL" ]; then
  if [ "${GR_DRY:-0}" = 1 ]; then step install 30 "$W/install.txt" sleep "${GR_DRY_INSTALL:-0}"
  else step install 60 "$W/install.txt" "$PY" -m pip install -q --no-index --no-deps --force-reinstall "$WHEEL"; fi
fi
# bench runs the GPU child (seconds: ms per call), then the CPU-baseline child (dlib-bin: one thread; 80-100 s on the
# 2-core dev box), each under --timeout PER = what is left - the verify reserve - 25 s for the GPU child and bench's own
# start and end, so both fit before the deadline: a CPU child that runs out is stopped by bench
# itself, which still prints its JSON with the GPU rows. Bench goes before verify and doctor: it is the result
# the call is for, and neither of them is a timing, so they can share the machine afterwards.
PER=$(( $(left) - GR_VERIFY_RESERVE - 25 )); [ "$PER" -gt 400 ] && PER=400; [ "$PER" -lt 20 ] && PER=20
step bench $(( $(left) - GR_VERIFY_RESERVE )) "$OUT/bench.json" gr bench dlib --json --offline "$W/off" --repeats 5 --warmup 1 \
  --timeout "$PER" --baseline-timeout 60 --plot "$OUT/bench.png"
"$PY" - "$OUT/bench.json" >> "$STEPS" 2>&1 <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as exc:
    sys.exit("  bench: no JSON (%s)" % exc)
b = d.get("cpu_baseline") or {}
print("  CPU baseline:", b.get("build"), "|", b.get("description") or b.get("error"), "| threads", b.get("threads"), "of", b.get("cores"))
print("  dlib flags:", b.get("flags"), "| notes:", b.get("notes"))
print("  GPU state:", json.dumps(d.get("gpu_state"))[:400])
for r in d.get("rows", []):
    print("  %-22s | %-40s | cpu %-8s (%s runs) | gpu %-8s | %s" % (r.get("framework"), r.get("workload"), r.get("cpu_s") and "%.4g" % r["cpu_s"],
          r.get("cpu_runs"), r.get("gpu_s") and "%.4g" % r["gpu_s"], r.get("speedup") and "%.1fx" % r["speedup"]))
for r in d.get("results", []):
    print("  bench:", r.get("subject"), "|", r.get("verdict"), "|", str(r.get("message"))[:200])
    for n in r.get("notes", []):
        if "CPU baseline" in n and ("fail" in n or "could not" in n):
            print("  NOTE:", n[:400])
EOF

# --- 3: verify and doctor, side by side, in what is left ---------------------------------------------------
step doctor 60 "$OUT/doctor.json" gr doctor --json --timeout 15 &
DOCTOR=$!
step verify 60 "$OUT/verify.json" gr verify dlib --json --timeout 40
wait $DOCTOR
"$PY" - "$OUT/verify.json" "$OUT/doctor.json" >> "$STEPS" 2>&1 <<'EOF'
import json, sys
for path in sys.argv[1:]:
    try:
        d = json.load(open(path))
    except (OSError, ValueError) as exc:
        print("  %s: no JSON (%s)" % (path.rsplit("/", 1)[-1], exc))
        continue
    for r in d.get("results", []):
        print("  verify:", r.get("subject"), "|", r.get("verdict"), "|", str(r.get("message"))[:300])
    for f in d.get("findings", [])[:12]:
        print("  doctor:", f.get("severity"), "|", f.get("subject"), "|", f.get("label"), "|", str(f.get("message"))[:200])
EOF
logs
say "done: $(ls "$OUT" | tr '\n' ' ')"
