#!/usr/bin/env bash
# A single-node Slurm on this machine for tests/test_cluster.py: munged,
# slurmctld and slurmd on localhost, one partition "debug" with this
# machine's CPUs, no cgroups (ProctrackType=proctrack/linuxproc), no
# accounting. Needs root and the packages of .ci/install-system-packages.sh.
# Idempotent: writes /etc/slurm/slurm.conf only if absent or written by this
# script, and starts only the daemons that are not running (no systemd
# needed). Where it cannot start Slurm it says why and exits 0; the Slurm
# test then skips, and the bash loop over SLURM_ARRAY_TASK_ID still runs.
set -uo pipefail

say() { echo "slurm: $*"; }
for cmd in munged slurmctld slurmd sbatch sinfo; do
  command -v "$cmd" >/dev/null || { say "$cmd not installed; skipping"; exit 0; }
done
[ "$(id -u)" = 0 ] || { say "needs root to start the daemons; skipping"; exit 0; }

CONF=/etc/slurm/slurm.conf
MARK="# written by mlpcli .ci/start-slurm.sh"
HOST=$(hostname -s)
CPUS=$(nproc)
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
  say "$CONF exists and is not ours; leaving it and its daemons alone"
  exit 0
fi
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat > "$CONF.new" <<CONF
$MARK
ClusterName=mlpcli
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
changed=0
cmp -s "$CONF.new" "$CONF" || { mv "$CONF.new" "$CONF"; changed=1; }
rm -f "$CONF.new"

# munge: a key (the package makes one; make it if missing), then the daemon as user munge
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
  chown munge:munge /etc/munge/munge.key 2>/dev/null
  chmod 400 /etc/munge/munge.key
fi
chown munge:munge /run/munge 2>/dev/null
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force ||
    { say "munged would not start; skipping"; exit 0; }
fi

running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if running /run/slurmctld.pid; then
  [ $changed = 1 ] && scontrol reconfigure >/dev/null 2>&1
else
  slurmctld || { say "slurmctld would not start (see /var/log/slurm/slurmctld.log); skipping"; exit 0; }
fi
if ! running /run/slurmd.pid; then
  slurmd || { say "slurmd would not start (see /var/log/slurm/slurmd.log); skipping"; exit 0; }
fi

# wait (up to 30 s) for the node to take jobs
for _ in $(seq 60); do
  state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null | head -n 1)
  case "$state" in
    idle|mix|alloc) say "node $HOST is $state (partition debug)"; exit 0 ;;
    down*|drain*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 ;;
  esac
  sleep 0.5
done
say "node $HOST did not become idle (state: ${state:-unknown}); the Slurm test will skip"
exit 0
