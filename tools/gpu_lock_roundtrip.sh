#!/bin/sh
# A lock made elsewhere, installed offline into a new venv on the GPU machine, then used on the GPU.
#
# 1. Here (with PyPI), from the repo root:
#      sh tools/gpu_lock_roundtrip.sh prepare        # writes gpu-lock/ (about 52 MB: pylock.toml + wheels/)
#    It plans `dlib numpy` for the saved H200 machine, writes a PEP 751 lock, and fetches exactly the locked
#    files plus dlib's sdist, its build tools (cmake, ninja, setuptools, packaging, wheel) and pip.
# 2. On the GPU machine (no network), from the repo root with gpu-lock/ carried along (it is git-ignored:
#    name it in the run's carry list):
#      sh tools/gpu_lock_roundtrip.sh run
#    It checks the machine kind against the lock, makes a new venv with no network, installs the locked
#    files hash-checked, builds dlib with CUDA from the folder, verifies it, and records under $OUT:
#    conda-overrides.txt, pixi.toml (the real GPU's virtual packages), install.json, dlib.txt, freeze.txt.
set -eu
MODE=${1:-run}
GPUREADY=${GPUREADY:-"python3 -m gpuready"}
export PYTHONPATH="${PYTHONPATH:-}${PYTHONPATH:+:}$(pwd)/src"
if [ "$MODE" = prepare ]; then
    rm -rf gpu-lock && mkdir gpu-lock
    $GPUREADY plan dlib numpy --machine tests/machines/h200-driver580.json --format pylock -o gpu-lock/pylock.toml
    $GPUREADY download --lock gpu-lock/pylock.toml --machine tests/machines/h200-driver580.json -d gpu-lock/wheels -q
    du -sh gpu-lock
    exit 0
fi
OUT=${OUT:-/tmp/gpu-lock-out}
mkdir -p "$OUT"
VENV=${VENV:-/tmp/gpuready-lock-venv}
rm -rf "$VENV"
$GPUREADY probe --format conda-overrides >"$OUT/conda-overrides.txt" 2>&1 || true
$GPUREADY probe --format pixi >"$OUT/pixi.toml" 2>&1 || true
start=$(date +%s)
# no network at all: a dead proxy for anything that would try
HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
    $GPUREADY install --lock gpu-lock/pylock.toml --offline gpu-lock/wheels --venv "$VENV" --installer pip --json \
    >"$OUT/install.json" 2>"$OUT/install.err" && rc=0 || rc=$?
echo "install rc=$rc seconds=$(( $(date +%s) - start ))" | tee "$OUT/summary.txt"
if [ -x "$VENV/bin/python" ]; then
    "$VENV/bin/python" -m pip freeze >"$OUT/freeze.txt" 2>&1 || true
    "$VENV/bin/python" -c "import dlib; print('dlib', dlib.__version__, 'DLIB_USE_CUDA', dlib.DLIB_USE_CUDA, 'devices', dlib.cuda.get_num_devices())" \
        >"$OUT/dlib.txt" 2>&1 || true
fi
cat "$OUT/summary.txt" "$OUT/dlib.txt" 2>/dev/null || true
