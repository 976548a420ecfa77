#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for `ppdl sweep --slurm` tests (CI) and trying it
# out: Debian's slurmctld + slurmd + munge, no systemd, no cgroups, as root.
#
#   sudo scripts/slurm-local.sh start    install (apt) if needed, configure, start, wait until the node is idle
#   sudo scripts/slurm-local.sh stop     stop slurmd, slurmctld and the munged this script started
#   scripts/slurm-local.sh status        sinfo's view of the node
#
# It writes /etc/slurm/slurm.conf only when there is none or it wrote the one there (marker line), and
# keeps its state in its own folder (another cluster's state makes slurmctld exit at once).
set -euo pipefail

MARKER="# written by ppdl scripts/slurm-local.sh"
CONF=/etc/slurm/slurm.conf
STATE=/var/spool/slurmctld-ppdl
OURS_MUNGED=/run/ppdl-slurm-local.munged

die() { echo "slurm-local: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (SlurmUser=root, daemons under /run and /var)"; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
    && command -v munged >/dev/null; then
    return
  fi
  echo "slurm-local: installing slurmctld slurmd slurm-client munge (apt)"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
  if [ -f "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
    die "$CONF exists and was not written by this script; leaving it alone (move it away to use this one)"
  fi
  # The node as slurmd sees it: declaring more CPUs or memory than there are drains the node.
  local node
  node=$(slurmd -C | grep '^NodeName=' | sed -e 's/^NodeName=[^ ]*/NodeName=localhost NodeAddr=127.0.0.1/')
  [ -n "$node" ] || die "slurmd -C printed no NodeName line"
  mkdir -p /etc/slurm
  cat >"$CONF" <<EOF
$MARKER
ClusterName=ppdl-local
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
StateSaveLocation=$STATE
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  if munge_ok; then
    return
  fi
  if [ ! -f /etc/munge/munge.key ]; then
    runuser -u munge -- mungekey -c
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  touch "$OURS_MUNGED"
  for _ in $(seq 100); do
    munge_ok && return
    sleep 0.1
  done
  die "munged started but 'munge -n | unmunge' never succeeded"
}

alive() { # pid file -> true while that process runs (an exited daemon can linger as a zombie)
  [ -f "$1" ] || return 1
  local pid stat
  pid=$(cat "$1")
  # /proc rather than ps (a minimal image may lack procps): the state letter after "(comm) ".
  stat=$(sed -e 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1 || true)
  [ -n "$stat" ] && [ "$stat" != Z ]
}

node_state() { sinfo -h -n localhost -o %t 2>/dev/null || true; }

start() {
  need_root start
  install_packages
  write_conf
  mkdir -p "$STATE" /var/spool/slurmd /var/log/slurm
  start_munge
  alive /run/slurmctld.pid || slurmctld
  alive /run/slurmd.pid || slurmd -N localhost
  # slurmctld returns 0 even when it exits at once (e.g. a state folder of another cluster): the node
  # never becoming idle is the error.
  for _ in $(seq 300); do
    if [ "$(node_state)" = idle ]; then
      echo "slurm-local: node localhost idle ($(sinfo -h -n localhost -o '%c CPUs, %m MB'))"
      return
    fi
    sleep 0.1
  done
  echo "slurm-local: the node never became idle (state: '$(node_state)'); last log lines:" >&2
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  exit 1
}

stop_pid_file() {
  local file=$1
  alive "$file" || return 0
  kill -TERM "$(cat "$file")"
  for _ in $(seq 100); do
    alive "$file" || return 0
    sleep 0.1
  done
  die "$(basename "$file" .pid) (pid $(cat "$file")) did not stop within 10 s"
}

stop() {
  need_root stop
  stop_pid_file /run/slurmd.pid
  stop_pid_file /run/slurmctld.pid
  if [ -f "$OURS_MUNGED" ]; then
    stop_pid_file /run/munge/munged.pid
    rm -f "$OURS_MUNGED"
  fi
  echo "slurm-local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo -N -l ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
