#!/usr/bin/env bash
# Starts a real one-node Slurm cluster on this machine (run as root), for the sweep integration test
# (tests/MemoryLab.Tests/Experiments/SlurmIntegrationTests.cs) and for trying `memlab sweep --emit slurm`.
# Installs slurmctld, slurmd, slurm-client and munge if missing, writes /etc/slurm/slurm.conf with one
# node (this host, 2 CPUs, partition `debug`), creates a munge key, starts munged, slurmctld and slurmd
# without systemd, and waits until `sinfo` shows the node idle. Safe to run again: a running cluster is
# left alone. Usage: scripts/slurm-local.sh [--stop]
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then echo "slurm-local.sh: must run as root" >&2; exit 1; fi

node=$(hostname -s)
conf=/etc/slurm/slurm.conf

# Stops the daemons this script started, by the pids in their pid files.
stop() {
  for f in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid /run/munge/munged.pid; do
    if [ -s "$f" ]; then
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$f"
    fi
  done
}
if [ "${1:-}" = "--stop" ]; then stop; exit 0; fi

# Already up? (sinfo answers and shows our node idle or mixed/allocated)
if command -v sinfo >/dev/null 2>&1 && timeout 5 sinfo -h -N -o '%N %T' 2>/dev/null | grep -Eq "^$node (idle|mixed|allocated)"; then
  echo "slurm-local.sh: cluster already up on $node"
  exit 0
fi

need=()
for p in slurmctld slurmd slurm-client munge; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

stop

# munge: a fresh key if none, owned by the munge user the package created.
mkdir -p /etc/munge /var/log/munge /var/lib/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown -R munge:munge /etc/munge /var/log/munge /var/lib/munge /run/munge
chmod 0700 /etc/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key
runuser -u munge -- munged

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
cat > "$conf" <<CONF
# Written by MemoryLab scripts/slurm-local.sh: one node, no accounting, no cgroups.
ClusterName=memlab
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MinJobAge=600
InactiveLimit=0
KillWait=10
Waittime=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -i
slurmd

for _ in $(seq 1 60); do
  state=$(timeout 5 sinfo -h -N -o '%N %T' 2>/dev/null | awk -v n="$node" '$1==n{print $2}')
  case "$state" in
    idle|mixed|allocated) echo "slurm-local.sh: node $node is $state"; exit 0 ;;
    down*|drain*) scontrol update NodeName="$node" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 1
done
echo "slurm-local.sh: node $node did not become idle; see /var/log/slurm/" >&2
sinfo -N -l >&2 || true
exit 1
