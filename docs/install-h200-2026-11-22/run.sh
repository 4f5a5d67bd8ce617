#!/bin/bash
# gpuready install, offline, on the H100/H200 test machine: cold (build) and cached reinstall of
# dlib + face_recognition from .carry/offline, then the machine's venv is put back as it was.
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 COLUMNS=150
export GPUREADY_HOME=/tmp/gi GPUREADY_CACHE_DIR=/tmp/gi/wheels
PY=/opt/torch/.venv/bin/python3
R=$OUT/results.txt
say() { echo "$*" | tee -a "$R"; }
now() { date +%s.%N; }
since() { awk "BEGIN{printf \"%.1f\", $(now)-$1}"; }
say "date $(date -u +%FT%TZ) gpu $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader) cores $(nproc)"
$PY -c "import setuptools; print('setuptools', setuptools.__version__)" | tee -a "$R"
# keep the shared machine clean: snapshot the venv with gpuready's own snapshot, restore it at the end
t=$(now)
$PY - <<'PY' | tee -a "$R"
import sys; from pathlib import Path
from gpuready.install.envinfo import inspect_env
from gpuready.install import snapshot as s
from gpuready.install.executor import find_installer
env = inspect_env(sys.executable); roots = s.protected_roots(env)
snap = s.take(roots, Path(env.prefix) / ".gpuready-demo" / "backup", find_installer(sys.executable, "pip", pip_version_hint=env.pip_version).freeze())
snap.save(Path(env.prefix) / ".gpuready-demo" / "snap.json")
print(f"demo snapshot: {snap.files} files, {snap.linked_bytes/1e9:.2f} GB linked, {snap.copied_bytes/1e6:.2f} MB copied, {snap.seconds:.1f} s, roots {roots}")
PY
say "demo snapshot wall $(since $t) s"
$PY -c "import wheel" 2>/dev/null || { say "installing wheel (build prerequisite)"; $PY -m pip install -q --no-index --no-deps .carry/offline/wheel-0.45.1-py3-none-any.whl; }
summ() { $PY - "$1" <<'PY' | tee -a "$R"
import json, sys
d = json.load(open(sys.argv[1]))
print(" status", d["status"], "seconds", d["seconds"], "installer", d["installer"], "snapshot", d["snapshot"])
for b in d["builds"]: print(" build", b.get("package"), "ok", b.get("ok"), "cached", b.get("cached"), "seconds", b.get("seconds"), "cuda", b.get("cuda_enabled"), b.get("wheel"))
for s in d["steps"]: print(" step", s["kind"], s["title"], "rc", s.get("rc"), "s", s.get("seconds"))
for c in d["changes"]: print(" change", c)
for f in d["verify"]: print(" verify", f["framework"], f["severity"], f["label"], f["subject"], "|", f["message"][:150], "|", f["details"].get("verify_status"), f["details"].get("seconds"))
for c in d["causes"]: print(" cause", c)
if d.get("rollback"): print(" rollback", d["rollback"])
if d.get("error"): print(" error", d["error"])
PY
}
t=$(now)
timeout 330 $PY -m gpuready install --offline .carry/offline dlib face_recognition --python $PY --yes --json > $OUT/install1.json 2> $OUT/install1.err
say "COLD install: rc=$? wall=$(since $t) s"; summ $OUT/install1.json
cp "$($PY -c "import json;print(json.load(open('$OUT/install1.json'))['log'])")" $OUT/install1.log 2>/dev/null
t=$(now)
timeout 150 $PY -m gpuready install --offline .carry/offline dlib face_recognition --python $PY --yes --json > $OUT/install2.json 2> $OUT/install2.err
say "CACHED reinstall: rc=$? wall=$(since $t) s"; summ $OUT/install2.json
t=$(now)
$PY - <<'PY' | tee -a "$R"
import sys; from pathlib import Path
from gpuready.install import snapshot as s
snap = s.Snapshot.load(Path(sys.prefix) / ".gpuready-demo" / "snap.json")
rep = s.restore(snap)
print(f"demo restore: exact={rep.exact} removed={len(rep.removed)} restored={len(rep.restored)} failed={rep.failed[:3]} diffs={rep.differences[:3]} freeze_same={rep.freeze_before == rep.freeze_after} {rep.seconds:.1f} s")
import shutil; shutil.rmtree(Path(sys.prefix) / ".gpuready-demo", ignore_errors=True)
PY
say "demo restore wall $(since $t) s"
tail -c 3000 $OUT/install1.err > $OUT/install1.err.tail; rm -f $OUT/install1.err
