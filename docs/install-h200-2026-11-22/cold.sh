#!/bin/bash
# cold install (empty wheel cache: dlib is built) of dlib + face_recognition from .carry/offline, default installer
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 COLUMNS=150
export GPUREADY_HOME=/tmp/gi-cold GPUREADY_CACHE_DIR=/tmp/gi-cold/wheels
PY=/opt/torch/.venv/bin/python3
date -u +%FT%TZ; $PY -c "import dlib; print('dlib before:', dlib.__version__)" 2>&1 | tail -1
t=$(date +%s.%N)
timeout 400 $PY -m gpuready install --offline .carry/offline dlib face_recognition --python $PY --yes --json > $OUT/cold.json 2> $OUT/cold.err
echo "COLD install rc=$? wall=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t}") s"
$PY - $OUT/cold.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(" status", d["status"], "seconds", d["seconds"], "installer", d["installer"], "snapshot", d["snapshot"])
for b in d["builds"]: print(" build", b.get("package"), "ok", b.get("ok"), "cached", b.get("cached"), "seconds", b.get("seconds"), "cuda", b.get("cuda_enabled"), b.get("wheel"))
for s in d["steps"]: print(" step", s["kind"], s["title"], "rc", s.get("rc"), "s", s.get("seconds"))
for c in d["changes"]: print(" change", c)
for f in d["verify"]: print(" verify", f["framework"], f["severity"], f["subject"], "|", f["message"][:200], "|", f["details"].get("verify_status"), f["details"].get("seconds"))
for c in d["causes"]: print(" cause", c)
if d.get("error"): print(" error", d["error"])
import shutil; shutil.copy(d["log"], sys.argv[1].replace(".json", ".log"))
PY
tail -c 2500 $OUT/cold.err > $OUT/cold.err.tail; rm -f $OUT/cold.err
