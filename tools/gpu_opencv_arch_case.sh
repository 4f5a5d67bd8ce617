#!/usr/bin/env bash
# Issue 9, item 5 on the GPU machine, in one go (run from the repo root through the device tool):
# OpenCV built with code for sm_80 only (CUDA_ARCH_BIN=8.0, no PTX) on the H200 (sm_90) must be
# `arch_unsupported` in explain, verify and doctor alike, each with the rebuild for 9.0.
#   1. gpuready build opencv --cuda-arch 8.0 (OPENCV_SDIST=/path/to/sdist-or-tree to build offline,
#      OFFLINE=/folder for --offline); the wheel lands in a throw-away venv (system site packages on,
#      so numpy comes from the torch venv)
#   2. OpenCV's own error: a dnn forward on DNN_BACKEND_CUDA in that venv, its message explained by
#      `gpuready explain --json` on this machine
#   3. `gpuready verify cv2 --json --python <venv python>` and `gpuready doctor --json --python <venv python>`
# Everything lands under $OUT (default ./out); summary.txt has the three labels and fixes.
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
PY=${PY:-/opt/torch/.venv/bin/python3}; [ -x "$PY" ] || PY=python3
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
GR() { "$PY" -m gpuready "$@"; }
S=$OUT/summary.txt; : > "$S"
say() { echo "$*" | tee -a "$S"; }
W=$(mktemp -d /tmp/gr-cv2arch-XXXX)
trap 'rm -rf "$W"' EXIT

say "date: $(date -u +%FT%TZ)  host: $(hostname)  python: $PY"
args=(build opencv --cuda-arch 8.0 -o "$W/wheels")
[ -n "${OPENCV_SDIST:-}" ] && args+=(--sdist "$OPENCV_SDIST")
[ -n "${OFFLINE:-}" ] && args+=(--offline "$OFFLINE")
GR "${args[@]}" > "$OUT/build.txt" 2>&1; say "build (CUDA_ARCH_BIN=8.0): exit $?"
WHL=$(ls "$W"/wheels/opencv*.whl 2>/dev/null | head -1)
[ -n "$WHL" ] || { say "no wheel built: see build.txt"; exit 1; }
"$PY" -m venv --system-site-packages "$W/venv"
VPY=$W/venv/bin/python
"$VPY" -m pip install -q --no-deps "$WHL" > "$OUT/pip.txt" 2>&1; say "wheel installed: $(basename "$WHL")"

# 2. OpenCV's own words for it
"$VPY" - "$PWD/src/gpuready/verify/children" > "$OUT/opencv-error.txt" 2>&1 <<'PY'
import os, sys, tempfile
sys.path.insert(0, sys.argv[1])
import cv2
import gr_onnx  # the small conv net verify's cv2 check runs
print(cv2.__version__, [l.strip() for l in cv2.getBuildInformation().splitlines() if "GPU arch" in l or "PTX" in l])
print("DeviceInfo(0).isCompatible():", cv2.cuda.DeviceInfo(0).isCompatible())
model, _ = gr_onnx.build(gr_onnx.VERIFY_LAYERS, 1, 64, 64, prefer_onnx=False)
fd, path = tempfile.mkstemp(suffix=".onnx"); os.write(fd, model); os.close(fd)
net = cv2.dnn.readNetFromONNX(path)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_CUDA)
net.setPreferableTarget(cv2.dnn.DNN_TARGET_CUDA)
net.setInput(gr_onnx.input_batch(1, 64, 64))
try:
    net.forward()
    print("forward ran (no error)")
except cv2.error as exc:
    print(exc)
PY
GR explain --json "$OUT/opencv-error.txt" > "$OUT/explain.json" 2>&1
"$PY" - "$OUT/explain.json" >> "$S" <<'PY'
import json, sys
c = (json.load(open(sys.argv[1])).get("causes") or [{}])[0]
print("explain:", c.get("label"), "|", c.get("fix"))
PY

# 3. verify and doctor on that interpreter
GR verify cv2 --json --python "$VPY" > "$OUT/verify.json" 2>&1
"$PY" - "$OUT/verify.json" >> "$S" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as exc:
    print("verify: unreadable output", exc); raise SystemExit
rs = d.get("results", d if isinstance(d, list) else [])
for r in rs:
    if isinstance(r, dict) and r.get("name") == "cv2":
        print("verify:", r.get("label"), "|", r.get("message"), "|", r.get("fix"))
PY
GR doctor --json --python "$VPY" > "$OUT/doctor.json" 2>&1
"$PY" - "$OUT/doctor.json" >> "$S" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as exc:
    print("doctor: unreadable output", exc); raise SystemExit
for f in d.get("findings", []):
    if "OpenCV" in f.get("subject", "") or "cv2" in f.get("subject", ""):
        print("doctor:", f.get("label"), "|", f.get("message"), "|", f.get("fix"))
PY
cat "$S"
