#!/usr/bin/env bash
# Run on the GPU machine (device tool) from the repo root: records raw outputs that the probe's parsers are
# tested against, a real probe of the machine, doctor's three renderings, and the probe/doctor benchmark.
# Everything lands in $OUT (default ./out).
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
f=$OUT/raw-facts.txt
sec() { echo; echo "===== $* ====="; }
{
  sec date; date -u
  sec nvidia-smi; timeout 20 nvidia-smi
  sec "nvidia-smi --query-gpu"; timeout 20 nvidia-smi --query-gpu=index,name,uuid,compute_cap,memory.total,pci.bus_id,driver_version --format=csv,noheader,nounits
  sec /proc/driver/nvidia/version; cat /proc/driver/nvidia/version
  sec "pci"; for d in /sys/bus/pci/devices/*; do echo "$d $(cat $d/vendor) $(cat $d/class)"; done | grep 0x10de
  sec "nvcc --version"; /usr/local/cuda/bin/nvcc --version
  sec "version.json"; head -c 600 /usr/local/cuda/version.json
  sec "cudnn headers"; find / -xdev \( -name 'cudnn_version*.h' -o -name 'cudnn.h' \) 2>/dev/null | head -20
  for h in $(find / -xdev -name 'cudnn_version*.h' 2>/dev/null | head -5); do sec "$h"; grep -E 'define CUDNN_(MAJOR|MINOR|PATCHLEVEL)' "$h"; done
  sec "libcudnn"; find / -xdev -name 'libcudnn.so*' 2>/dev/null | head -20
  sec "gcc"; gcc --version; g++ --version; ls -la /opt/gcc/bin 2>/dev/null | head; /opt/gcc/bin/g++ --version 2>/dev/null
  sec "clang"; clang --version 2>&1 | head -3
  sec "cmake"; cmake --version
  sec "PATH"; echo "$PATH"; which -a nvcc python3 g++ cmake
  sec "python"; python3 -c 'import sys;print(sys.version, sys.executable, sys.prefix)'
  sec "pip list"; python3 -m pip list 2>/dev/null | grep -i -E 'torch|jax|cupy|onnx|opencv|nvidia|cuda|numpy|setuptools|wheel|dlib|face'
} > "$f" 2>&1
python3 -m gpuready probe --save "$OUT/h100-probe.json" > "$OUT/probe.txt" 2>&1
python3 -m gpuready doctor > "$OUT/doctor.txt" 2>&1; echo "doctor exit $?" >> "$OUT/doctor.txt"
python3 -m gpuready doctor --json > "$OUT/doctor.json" 2>"$OUT/doctor-json.err"
python3 -m gpuready doctor --markdown > "$OUT/doctor.md" 2>&1
python3 benchmarks/bench_probe.py --repeat 5 --json > "$OUT/bench-probe.json" 2>&1
cat "$OUT/doctor.txt"; cat "$OUT/bench-probe.json"
