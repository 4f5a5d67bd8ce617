#!/usr/bin/env bash
# Start a real single-node Slurm cluster on this machine (Debian/Ubuntu, as root), for the opt-in
# Slurm test of `gpuready fleet doctor --slurm` (tests/test_fleet_slurm.py) and for trying it by hand.
#
#   tools/slurm-local.sh start   # apt-get install slurmctld slurmd slurm-client munge (once), write a
#                                # one-node slurm.conf, start munged, slurmctld and slurmd; wait for the node
#   tools/slurm-local.sh stop    # stop the three daemons this script started (by their pid files)
#
# Everything listens on 127.0.0.1 only. It is not a production set-up: no accounting, no cgroups,
# SlurmUser root. The node is this host (`hostname -s`), with its real CPU count and memory.
set -euo pipefail
RUN=/run/gpuready-slurm
mkdir -p "$RUN"

stop() {
  for d in slurmd slurmctld munged; do
    if [[ -f "$RUN/$d.pid" ]]; then
      pid=$(cat "$RUN/$d.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$RUN/$d.pid"
    fi
  done
}

start() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v srun >/dev/null; then
    [[ $(id -u) == 0 ]] || { echo "slurm-local: not installed and not root; install slurmctld slurmd slurm-client munge" >&2; exit 2; }
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
  fi
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
  cat > /etc/slurm/slurm.conf <<CONF
# written by gpuready tools/slurm-local.sh: one node, this host, loopback only
ClusterName=gpuready-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
InactiveLimit=0
KillWait=5
MinJobAge=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=60 State=UP
CONF
  [[ -s /etc/munge/munge.key ]] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
  chown munge:munge /etc/munge/munge.key /run/munge 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  if ! munge -n >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
    cp /run/munge/munged.pid "$RUN/munged.pid" 2>/dev/null || true
  fi
  pgrep -F "$RUN/slurmctld.pid" >/dev/null 2>&1 || slurmctld
  pgrep -F "$RUN/slurmd.pid" >/dev/null 2>&1 || slurmd
  for _ in $(seq 100); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      sinfo -N
      return 0
    fi
    sleep 0.2
  done
  echo "slurm-local: the node did not come up; see /var/log/slurm/" >&2
  sinfo -N >&2 || true
  exit 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
