#!/usr/bin/env bash
# Benchmarks sluice-mount (the FUSE mount of tools/mount/) against MooseFS's
# mfsmount and against the SDK's own read path, in one run on this machine,
# with the same workloads on the same kind of data, and prints a table of
# medians and ratios. A benchmark, not a test: it asserts nothing.
#
#   sudo deploy/bench-mount.sh [--help]
#
# Needs root (apt-get, drop_caches, mounts, a private network namespace) and
# a build (meson setup build --buildtype=release && ninja -C build). Installs
# with apt-get what is missing: moosefs-master moosefs-chunkserver
# moosefs-client moosefs-cli fuse3 fio gcc iproute2.
#
# Systems, all on this machine:
#   sluice-mount --rw of a local cluster: sluice-meta and SLUICE_DATA
#     sluice-data (tcp;ofi_rxm on 127.0.0.1), a namespace of REPLICAS replicas;
#   MooseFS (Debian packages): a master and 2 chunkservers, goal 2, trash time
#     0, mounted with mfsmount -o mfscachemode=NO (no client page cache);
#   the SDK: sluice-bench (sluice_reader_pread in 8 MiB calls, cut into 1 MiB
#     pieces read in parallel: the mount's read-ahead window), and
#     `sluice get -o /dev/null` of the very object the mounts read.
# Workloads, driven by the same tools on both mounts (deploy/bench/fsbench.c,
# fio), every repetition running them on each system in turn:
#   ingest of BIG_N files of 16 MiB (fsync, close) and of SMALL_N of 4 KiB
#     (in the first INGEST_REPS repetitions only: it is the slow part);
#   sequential read in 1 MiB reads of one SEQ_MIB file (1 reader) and of the
#     BIG_N x 16 MiB files (1 and 4 readers), cold: drop_caches before each;
#   4 KiB random reads of the SEQ_MIB file with fio, O_DIRECT where the mount
#     takes it: libaio at depth 1 and 32, and psync with RAND_JOBS jobs,
#     RAND_SECS seconds each, cold;
#   stat of SMALL_N files, listing of their directory (names, then names and
#     lstat), cold.
# Environment: REPS=3 INGEST_REPS=1 SMALL_N=20000 BIG_N=64 SEQ_MIB=1024 RAND_SECS=5
#   RAND_JOBS=32 (0: no psync row) SDK_MIB=256 SLUICE_DATA=2 REPLICAS=2
#   MAX_SECS=1500 (a watchdog ends the run then) BENCH_WORK=/var/tmp (where the
#   data goes: about 20 GiB at the defaults) KEEP_DATA=0 MFS_PORT_BASE=19419
#   SLUICE_META_PORT=7300 SLUICE_BUILD_DIR=<checkout>/build
# The defaults take about 20 minutes on a 2-core VM, most of it the ingest of
# the small files; a repetition that would not finish before the watchdog is
# skipped, and if the watchdog ends the run, the table still comes out with
# what was measured. The output says which.
#
# Everything runs in a private network namespace (unshare --net: MooseFS's
# chunkservers refuse 127.x addresses, and no port clashes with other runs);
# both FUSE mounts are in the shared mount namespace. Everything started is
# stopped by PID and both mounts are unmounted at exit.
#
# MooseFS's setup follows the peers kit of the project's benchmark baselines
# (peer-moosefs.sh), as do the helpers below marked so; fsbench is its driver.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SLUICE_BUILD_DIR:-$top/build}
REPS=${REPS:-3}
INGEST_REPS=${INGEST_REPS:-1}
[ "$INGEST_REPS" -ge 1 ] || INGEST_REPS=1
SMALL_N=${SMALL_N:-20000}
BIG_N=${BIG_N:-64}
SEQ_MIB=${SEQ_MIB:-1024}
RAND_SECS=${RAND_SECS:-5}
RAND_JOBS=${RAND_JOBS:-32}
SDK_MIB=${SDK_MIB:-256}
SLUICE_DATA=${SLUICE_DATA:-2}
REPLICAS=${REPLICAS:-2}
MAX_SECS=${MAX_SECS:-1500}
PB=${MFS_PORT_BASE:-19419}
IP=198.18.0.1 # RFC 2544 benchmarking range, only inside the private namespace

case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) echo "bench-mount: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Installs the Debian packages that are missing (from the peers kit).
need_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  local aptlog
  aptlog=$(mktemp /tmp/bench-mount-apt.XXXXXX)
  if ! apt-get install -y --no-install-recommends "${missing[@]}" > "$aptlog" 2>&1; then
    apt-get update >> "$aptlog" 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >> "$aptlog" 2>&1 || {
      tail -n 20 "$aptlog" >&2
      return 1
    }
  fi
  rm -f "$aptlog"
}

# ---- outside the namespace: the header, packages, then into a private network namespace
if [ "${_SL_BENCH_MOUNT_NETNS:-}" != 1 ]; then
  echo "# command: REPS=$REPS INGEST_REPS=$INGEST_REPS SMALL_N=$SMALL_N BIG_N=$BIG_N SEQ_MIB=$SEQ_MIB RAND_SECS=$RAND_SECS" \
    "RAND_JOBS=$RAND_JOBS SDK_MIB=$SDK_MIB SLUICE_DATA=$SLUICE_DATA REPLICAS=$REPLICAS $0 $*"
  echo "# date: $(date -u +%FT%TZ)"
  [ "$(id -u)" = 0 ] || { echo "bench-mount: run as root (apt-get, drop_caches, mounts)" >&2; exit 1; }
  for t in tools/sluice tools/sluice-mount tools/sluice-bench server/meta/sluice-meta \
    server/data/sluice-data; do
    [ -x "$build/$t" ] || { echo "bench-mount: $build/$t missing: build first" >&2; exit 1; }
  done
  need_pkgs moosefs-master moosefs-chunkserver moosefs-client moosefs-cli fuse3 fio gcc \
    libc6-dev util-linux iproute2
  export _SL_BENCH_MOUNT_NETNS=1
  exec unshare --net -- bash "$0" "$@"
fi

# ---- cleanup: a stack run last-in first-out at exit (from the peers kit) ----
_stack=()
track_pid() { _stack+=("stop_tree $1"); }
on_exit() { _stack+=("$1"); }

_descendants() {
  local k
  for k in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$k"
    _descendants "$k"
  done
}

_wait_gone() { # PID TENTHS
  local i
  for ((i = 0; i < $2; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

stop_pid() {
  local p=$1
  kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
  kill -TERM "$p" 2>/dev/null || true
  _wait_gone "$p" 100 || kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

stop_tree() {
  local p=$1 kids k
  kids=$(_descendants "$p")
  stop_pid "$p"
  for k in $kids; do
    _wait_gone "$k" 50 && continue
    kill -TERM "$k" 2>/dev/null || true
    _wait_gone "$k" 50 || kill -KILL "$k" 2>/dev/null || true
  done
}

_cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#_stack[@]} - 1; i >= 0; i--)); do
    eval "${_stack[$i]}" || true
  done
  exit $rc
}
trap _cleanup EXIT
trap 'exit 130' INT
REPORT=: # the table, once there is something to put in it
trap 'log "watchdog or TERM: stopping"; $REPORT; exit 143' TERM

unmount() { # a FUSE mount point, if mounted
  mountpoint -q "$1" 2>/dev/null || return 0
  fusermount3 -u "$1" 2>/dev/null || umount "$1" 2>/dev/null || umount -l "$1"
}

# The watchdog: TERM to this script at MAX_SECS, then to what it is waiting
# for (a trap runs only once the foreground command returns).
T0=$(date +%s)
DEADLINE=$((T0 + MAX_SECS))
(
  sleep "$MAX_SECS"
  kill -TERM $$ 2>/dev/null || report
exit 0
  sleep 10
  for k in $(_descendants $$); do
    [ "$k" = "$BASHPID" ] || kill -TERM "$k" 2>/dev/null
  done
) > /dev/null 2>&1 &
track_pid $!
have_time() { [ $(($(date +%s) + $1)) -lt "$DEADLINE" ]; }

ip link set lo up
ip addr add "$IP/32" dev lo

W=$(mktemp -d "${BENCH_WORK:-/var/tmp}/sluice-bench-mount.XXXXXX")
chmod 755 "$W" # the MooseFS daemons run as user mfs
[ "${KEEP_DATA:-0}" = 1 ] || on_exit "rm -rf '$W'"
need_kib=$(( (SEQ_MIB + INGEST_REPS * (BIG_N * 16 + SMALL_N * 4 / 1024) + REPS * SDK_MIB) * 1024 * 5 ))
avail_kib=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -gt "$need_kib" ] || {
  echo "bench-mount: $W has $((avail_kib >> 20)) GiB free, the run needs about $((need_kib >> 20)) GiB" >&2
  exit 1
}

_cpu_line() { # two "cpu ..." lines of /proc/stat -> percentages (from the peers kit)
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); t = 0
    for (i = 2; i <= n; i++) { d[i] = y[i] - x[i]; t += d[i] }
    if (t > 0) printf "user+nice=%.0f%% sys=%.0f%% idle=%.0f%% iowait=%.0f%%",
      100 * (d[2] + d[3]) / t, 100 * (d[4] + d[7] + d[8]) / t, 100 * d[5] / t, 100 * d[6] / t
  }'
}
a=$(head -1 /proc/stat); sleep 2; b=$(head -1 /proc/stat)
STAT0=$b
echo "# machine: $(nproc) cpus \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\"," \
  "$(free -g | awk '/Mem:/ { print $2 }') GiB, kernel $(uname -r), $(df -PT "$W" | awk 'NR == 2 { print $2 }') under $W"
echo "# others' load before the run (2 s): $(_cpu_line "$a" "$b"), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# versions: sluice $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')," \
  "moosefs $(dpkg-query -W -f='${Version}' moosefs-client), fuse3 $(dpkg-query -W -f='${Version}' fuse3)," \
  "fio $(fio --version)"

gcc -O2 -pthread -o "$W/fsbench" "$top/deploy/bench/fsbench.c"
FSB=$W/fsbench

# ---- Sluice: a local cluster, a tenant, a namespace, the mount ---------------
export SLUICE_CLUSTER_DIR=$W/sluice SLUICE_META_PORT=${SLUICE_META_PORT:-7300} SLUICE_BUILD_DIR=$build
on_exit "'$top/deploy/local-cluster.sh' stop > /dev/null 2>&1"
log "starting a Sluice cluster: sluice-meta and $SLUICE_DATA sluice-data"
"$top/deploy/local-cluster.sh" start "$SLUICE_DATA" > "$W/cluster.out"
S=("$build/tools/sluice")
"${S[@]}" -c "$SLUICE_CLUSTER_DIR/meta/admin.credentials" tenant create bench > /dev/null
"${S[@]}" -c "$SLUICE_CLUSTER_DIR/meta/admin.credentials" principal create runner --tenant bench \
  --role admin --role writer --role reader --purpose inference --out "$W/bench.cred" > /dev/null
"${S[@]}" -c "$W/bench.cred" ns create bench --replicas "$REPLICAS" > /dev/null
SMNT=$W/sluice-mnt
mkdir -p "$SMNT" "$W/spool"
"$build/tools/sluice-mount" -c "$W/bench.cred" "$SMNT" --rw -f -o "spool=$W/spool" \
  < /dev/null 2> "$W/sluice-mount.log" &
SLUICE_MOUNT_PID=$!
track_pid $SLUICE_MOUNT_PID
on_exit "unmount '$SMNT'"
for _ in $(seq 100); do mountpoint -q "$SMNT" && break; sleep 0.1; done
mountpoint -q "$SMNT" || { cat "$W/sluice-mount.log" >&2; exit 1; }
echo "# sluice: sluice-meta + $SLUICE_DATA sluice-data, namespace of $REPLICAS replicas," \
  "sluice-mount --rw (sessions, attr_timeout: defaults)"

# ---- MooseFS (as the peers kit's peer-moosefs.sh sets it up) ----------------
MFS=$W/mfs
MMNT=$MFS/mnt
mkdir -p "$MFS"/{etc,master,cs1/hdd,cs2/hdd,mnt}
cp "$(dpkg -L moosefs-master | grep -m1 "metadata.mfs.empty$")" "$MFS/master/metadata.mfs"
cat > "$MFS/etc/mfsmaster.cfg" <<EOF
WORKING_USER = mfs
WORKING_GROUP = mfs
DATA_PATH = $MFS/master
EXPORTS_FILENAME = $MFS/etc/mfsexports.cfg
TOPOLOGY_FILENAME = $MFS/etc/mfstopology.cfg
MATOML_LISTEN_HOST = $IP
MATOML_LISTEN_PORT = $PB
MATOCS_LISTEN_HOST = $IP
MATOCS_LISTEN_PORT = $((PB + 1))
MATOCL_LISTEN_HOST = $IP
MATOCL_LISTEN_PORT = $((PB + 2))
EOF
echo "$IP / rw,alldirs,admin,maproot=0:0" > "$MFS/etc/mfsexports.cfg"
: > "$MFS/etc/mfstopology.cfg"
for i in 1 2; do
  cat > "$MFS/etc/mfschunkserver$i.cfg" <<EOF
WORKING_USER = mfs
WORKING_GROUP = mfs
DATA_PATH = $MFS/cs$i
HDD_CONF_FILENAME = $MFS/etc/mfshdd$i.cfg
HDD_LEAVE_SPACE_DEFAULT = 1GiB
MASTER_HOST = $IP
MASTER_PORT = $((PB + 1))
BIND_HOST = $IP
CSSERV_LISTEN_HOST = $IP
CSSERV_LISTEN_PORT = $((PB + 2 + i))
EOF
  echo "$MFS/cs$i/hdd" > "$MFS/etc/mfshdd$i.cfg"
done
chown -R mfs:mfs "$MFS/master" "$MFS/cs1" "$MFS/cs2"

port_free() { ! ss -Htln "sport = :$1" 2> /dev/null | grep -q .; }
wait_port() { # PORT SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do port_free "$1" || return 0; sleep 0.1; done
  echo "bench-mount: nothing listening on $1" >&2
  return 1
}
log "starting MooseFS: a master and 2 chunkservers on $IP"
mfsmaster -f -c "$MFS/etc/mfsmaster.cfg" < /dev/null > "$MFS/master.log" 2>&1 &
MFS_MASTER_PID=$!
track_pid $MFS_MASTER_PID
wait_port $((PB + 2)) 20
MFS_CS_PIDS=()
for i in 1 2; do
  mfschunkserver -f -c "$MFS/etc/mfschunkserver$i.cfg" < /dev/null > "$MFS/cs$i.log" 2>&1 &
  MFS_CS_PIDS+=($!)
  track_pid $!
done
wait_port $((PB + 3)) 30
wait_port $((PB + 4)) 30
n=0
for _ in $(seq 60); do
  n=$(mfscli -H $IP -P $((PB + 2)) -SCS -s '|' 2> /dev/null |
    grep -c "$IP|$((PB + 3))\|$IP|$((PB + 4))" || true)
  [ "$n" -ge 2 ] && break
  sleep 0.5
done
[ "$n" -ge 2 ] || { echo "bench-mount: only $n MooseFS chunkservers registered" >&2; exit 1; }
mfsmount "$MMNT" -f -H $IP -P $((PB + 2)) -o mfscachemode=NO < /dev/null > "$MFS/mount.log" 2>&1 &
MFS_MOUNT_PID=$!
track_pid $MFS_MOUNT_PID
on_exit "unmount '$MMNT'"
for _ in $(seq 100); do mountpoint -q "$MMNT" && break; sleep 0.1; done
mountpoint -q "$MMNT" || { cat "$MFS/mount.log" >&2; exit 1; }
mfssetgoal -r 2 "$MMNT" > /dev/null
mfssettrashtime -r 0 "$MMNT" > /dev/null
echo "# moosefs: mfsmaster + 2 mfschunkserver, goal $(mfsgetgoal "$MMNT" | awk '{ print $NF }')," \
  "trash time 0, mfsmount -o mfscachemode=NO"

# ---- measuring ----------------------------------------------------------------
# Each system's processes, for the CPU each workload costs them.
sluice_pids="sluice-mount:$SLUICE_MOUNT_PID sluice-meta:$(cat "$SLUICE_CLUSTER_DIR/meta.pid")"
for ((i = 1; i <= SLUICE_DATA; i++)); do
  sluice_pids+=" sluice-data$i:$(cat "$SLUICE_CLUSTER_DIR/data$i.pid")"
done
mfs_pids="mfsmount:$MFS_MOUNT_PID mfsmaster:$MFS_MASTER_PID"
mfs_pids+=" mfschunkserver1:${MFS_CS_PIDS[0]} mfschunkserver2:${MFS_CS_PIDS[1]}"
declare -A ROOT=([sluice]=$SMNT/bench [mfs]=$MMNT) NAME=([sluice]=sluice-mount [mfs]=MooseFS)
declare -A PIDS=([sluice]=$sluice_pids [mfs]=$mfs_pids [sdk]=$sluice_pids)
declare -A V # "figure|system" -> the values measured, one per repetition
HZ=$(getconf CLK_TCK)

ticks() { # utime + stime of a process, all its threads
  local s
  s=$(cat /proc/"$1"/stat 2> /dev/null) || { echo 0; return; }
  s=${s##*) }
  set -- $s
  echo $((${12} + ${13}))
}
# CPU seconds of this shell's children so far (times runs in this shell, not a subshell).
child_secs() {
  times > "$W/times"
  awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$W/times"
}

_cpu_sys= _cpu_t0= _cpu_stat0=
declare -A _cpu_ticks0
cpu_begin() { # SYSTEM
  local e
  _cpu_sys=$1
  for e in ${PIDS[$1]}; do _cpu_ticks0[$e]=$(ticks "${e#*:}"); done
  _cpu_stat0=$(head -1 /proc/stat)
  _cpu_t0=$(date +%s.%N)
  child_secs > "$W/times.0" # last: what ran above is not the tool's
}
cpu_end() { # prints where the CPU went since cpu_begin, in % of one core
  local t1 e out="" stat1 tool
  child_secs > "$W/times.1" # first, for the same reason
  t1=$(date +%s.%N)
  stat1=$(head -1 /proc/stat)
  for e in ${PIDS[$_cpu_sys]}; do
    out+=$(awk -v n="${e%%:*}" -v a="${_cpu_ticks0[$e]}" -v b="$(ticks "${e#*:}")" -v hz="$HZ" \
      -v t0="$_cpu_t0" -v t1="$t1" 'BEGIN { printf " %s %.0f%%", n, 100 * (b - a) / hz / (t1 - t0) }')
  done
  tool=$(awk -v a="$(cat "$W/times.0")" -v b="$(cat "$W/times.1")" -v t0="$_cpu_t0" -v t1="$t1" \
    'BEGIN { printf "%.0f%%", 100 * (b - a) / (t1 - t0) }')
  echo "   cpu (% of one core):$out, client tool $tool; machine $(_cpu_line "$_cpu_stat0" "$stat1")"
}

val() { sed -n "s|.*[ ]$1=\([0-9.]*\).*|\1|p" | head -1; }
add() { V["$1|$2"]+="${V["$1|$2"]:+ }$3"; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# measure FIGURE SYSTEM KEY UNIT [cold] -- COMMAND...: runs it once, records KEY=value
measure() {
  local fig=$1 sys=$2 key=$3 unit=$4 c=$5 out v
  shift 6
  if [ "$c" = cold ]; then cold; else sync; fi
  cpu_begin "$sys"
  out=$("$@" 2>> "$W/errors.log") || {
    printf '%-22s %-13s %12s (%s; its errors:)\n' "$fig" "${NAME[$sys]:-SDK}" FAILED "$*"
    tail -n 5 "$W/errors.log" | sed 's/^/   /'
    echo "$fig $sys FAILED" >> "$W/raw.txt"
    return 0
  }
  v=$(val "$key" <<< "$out")
  add "$fig" "$sys" "$v"
  printf '%-22s %-13s %12s %s\n' "$fig" "${NAME[$sys]:-SDK}" "$v" "$unit"
  cpu_end
  echo "$fig $sys $out" >> "$W/raw.txt"
}

# fio's 4 KiB random reads: "RESULT IOPS=... p50_us=... p99_us=..." (terse v3:
# field 8 is the read IOPS, then the read completion-latency percentiles).
DIRECT_sluice=1 DIRECT_mfs=1
fio_rand() { # FILE qd1|qd32|jobs DIRECT
  local args
  case $2 in
    qd1) args=(--ioengine=libaio --iodepth=1) ;;
    qd32) args=(--ioengine=libaio --iodepth=32) ;;
    jobs) args=(--ioengine=psync --numjobs="$RAND_JOBS" --group_reporting) ;;
  esac
  fio --name=rand --filename="$1" --readonly --rw=randread --bs=4k --direct="$3" "${args[@]}" \
    --runtime="$RAND_SECS" --time_based --norandommap --randrepeat=0 \
    --output-format=terse --terse-version=3 |
    awk -F';' '{ for (i = 18; i <= NF; i++) { if ($i ~ /^50.000000%=/ && !p50) { sub(/.*=/, "", $i); p50 = $i }
                                              if ($i ~ /^99.000000%=/ && !p99) { sub(/.*=/, "", $i); p99 = $i } }
                 printf "RESULT IOPS=%s p50_us=%s p99_us=%s\n", $8, p50, p99 }'
}

# The SDK's sequential read of the object the mounts read, as `sluice get` does it.
sdk_get() {
  local t0 t1
  t0=$(date +%s.%N)
  "${S[@]}" -c "$W/bench.cred" get bench/seq/f000000 -o /dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v m="$SEQ_MIB" 'BEGIN { printf "RESULT secs=%.3f MiB/s=%.1f\n", b - a, m / (b - a) }'
}
sdk_bench() {
  mkdir -p "$W/sdk"
  "$build/tools/sluice-bench" -c "$W/bench.cred" -n bench --size "$SDK_MIB" --files 1 \
    --random 2000 --dir "$W/sdk" |
    awk '/^sluice.read.seq.warm/ { s = $2 } /^sluice.read.rand4k.qd1 / { q1 = $2 }
         /^sluice.read.rand4k.qd32/ { q32 = $2 }
         END { printf "RESULT MiB/s=%s IOPS1=%s IOPS32=%s\n", s, q1, q32 }'
}

order() { # the systems in turn, the other one first every second repetition
  if (($1 % 2)); then echo sluice mfs; else echo mfs sluice; fi
}

# ---- the table -------------------------------------------------------------------
med() { # median of the values of FIGURE|SYSTEM, or "-"
  printf '%s\n' ${V["$1|$2"]:-} | { grep -E '^[0-9.]+$' || true; } | sort -g |
    awk '{ a[NR] = $1 } END { if (!NR) { print "-"; exit }
         printf "%.6g\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }
n_of() { printf '%s\n' ${V["$1|$2"]:-} | grep -cE '^[0-9.]+$' || true; }
row() { # FIGURE LABEL UNIT [SDK-FIGURE]
  local a b c
  a=$(med "$1" sluice)
  b=$(med "$1" mfs)
  c=$([ -n "${4:-}" ] && med "$4" sdk || echo -)
  printf '| %-52s | %-9s | %12s | %10s | %5s | %10s | %5s | %s |\n' "$2" "$3" "$a" "$b" \
    "$(ratio "$a" "$b")" "$c" "$(ratio "$a" "$c")" "$(n_of "$1" sluice)/$(n_of "$1" mfs)"
}
lrow() { # latency: lower is better, so no ratio
  printf '| %-52s | %-9s | %12s | %10s | %5s | %10s | %5s | %s |\n' "$2" us "$(med "$1" sluice)" \
    "$(med "$1" mfs)" "" "" "" ""
}
goal() { # LABEL THRESHOLD FIGURE:SYSTEM-PAIR...
  local label=$1 min=$2 verdict=met parts="" f a b r
  shift 2
  for f in "$@"; do
    a=$(med "${f%%:*}" sluice)
    b=$(med "${f%%:*}" "${f#*:}")
    r=$(ratio "$a" "$b")
    parts+=" ${f%%:*} $r;"
    awk -v r="$r" -v m="$min" 'BEGIN { exit !(r != "-" && r + 0 >= m) }' || verdict="NOT met"
  done
  echo "goal: $label (>= ${min}x): $verdict --${parts%;}"
}

# Prints the table and the goals from what was measured (also when the
# watchdog ends the run early).
report() {
  trap - TERM
  set +e # a figure that is missing is a "-", not the end of the report
  echo
  echo "# medians of REPS=$REPS repetitions (n = runs that made it, sluice-mount/MooseFS);"
  echo "# ratio = sluice-mount / MooseFS; SDK = sluice-bench (sluice_reader_pread, 8 MiB calls"
  echo "# cut into 1 MiB pieces read in parallel; random: its own ${SDK_MIB} MiB object, depth 32"
  echo "# = sluice_reader_preadv of 32); mount/SDK = sluice-mount / SDK"
  printf '| %-52s | %-9s | %12s | %10s | %5s | %10s | %5s | %s |\n' figure unit sluice-mount MooseFS ratio \
    SDK "m/SDK" n
  echo "|---|---|---|---|---|---|---|---|"
  row seq.file.t1 "sequential read, one ${SEQ_MIB} MiB file, 1 reader, cold" MiB/s sdk.bench
  row seq.file.t1 "  same, SDK = sluice get -o /dev/null of that object" MiB/s sdk.get
  row seq.big.t1 "sequential read, $BIG_N x 16 MiB, 1 reader, cold" MiB/s
  row seq.big.t4 "sequential read, $BIG_N x 16 MiB, 4 readers, cold" MiB/s
  row rand.qd1 "random 4 KiB reads, fio libaio depth 1" IOPS sdk.rand.qd1
  lrow rand.qd1.p50 "  p50 latency"
  lrow rand.qd1.p99 "  p99 latency"
  row rand.qd32 "random 4 KiB reads, fio libaio depth 32" IOPS sdk.rand.qd32
  lrow rand.qd32.p50 "  p50 latency"
  lrow rand.qd32.p99 "  p99 latency"
  if [ "$RAND_JOBS" -gt 0 ]; then
    row rand.jobs "random 4 KiB reads, fio psync, $RAND_JOBS jobs" IOPS
    lrow rand.jobs.p50 "  p50 latency"
    lrow rand.jobs.p99 "  p99 latency"
  fi
  row stat "stat of $SMALL_N files, cold" stats/s
  row list "listing of $SMALL_N entries (names), cold" entries/s
  row list.lstat "listing of $SMALL_N entries + lstat each, cold" entries/s
  row ingest.small "ingest of $SMALL_N x 4 KiB files" files/s
  row ingest.big "ingest of $BIG_N x 16 MiB files (fsync, close)" MiB/s
  echo "# random reads: O_DIRECT on sluice-mount: $([ "$DIRECT_sluice" = 1 ] && echo yes || echo no)," \
    "on MooseFS: $([ "$DIRECT_mfs" = 1 ] && echo yes || echo no)"

  # The issue's goals, from the medians above.
  echo
  goal "sequential reads against MooseFS" 2 seq.file.t1:mfs seq.big.t1:mfs seq.big.t4:mfs
  goal "random reads against MooseFS" 2 rand.qd1:mfs rand.qd32:mfs
  goal "stat, listing and small-file ingest against MooseFS" 3 stat:mfs list:mfs list.lstat:mfs \
    ingest.small:mfs
  a=$(med seq.file.t1 sluice)
  echo "goal: the mount against the SDK at 1 MiB sequential (>= 0.8x):" \
    "$(awk -v r="$(ratio "$a" "$(med sdk.bench sdk)")" 'BEGIN { print (r != "-" && r >= 0.8) ? "met" : "NOT met" }')" \
    "-- against sluice-bench $(ratio "$a" "$(med sdk.bench sdk)"), against sluice get $(ratio "$a" "$(med sdk.get sdk)")"
  echo "# elapsed $(($(date +%s) - T0)) s; machine over the run: $(_cpu_line "$STAT0" "$(head -1 /proc/stat)")"
  echo "# sluice-mount's log: $(wc -l < "$W/sluice-mount.log") lines," \
    "$(grep -ciE ' (warn|error) ' "$W/sluice-mount.log" || true) of them warnings or errors"
  grep -iE ' (warn|error) ' "$W/sluice-mount.log" | head -n 5 | sed 's/^/#   /' || true
}
REPORT=report

echo "# every figure below is one run; the table at the end has the medians"
log "writing the ${SEQ_MIB} MiB file on both mounts"
for s in sluice mfs; do
  measure seed.seqfile "$s" MiB/s MiB/s warm -- "$FSB" write "${ROOT[$s]}/seq" 1 $((SEQ_MIB << 20)) -f
done
for s in sluice mfs; do
  if dd if="${ROOT[$s]}/seq/f000000" of=/dev/null bs=4k count=1 iflag=direct 2> /dev/null; then
    eval "DIRECT_$s=1"
  else
    eval "DIRECT_$s=0"
    echo "# ${NAME[$s]} refuses O_DIRECT: its random reads are buffered (--direct=0)"
  fi
done

# Each repetition ingests new files on both systems (the first INGEST_REPS),
# then reads; the reads use the files of repetition 1.
ingest_secs=0 read_secs=0
for ((r = 1; r <= REPS; r++)); do
  need=$((read_secs + 60))
  [ "$r" -le "$INGEST_REPS" ] && need=$((need + ingest_secs * 3 / 2))
  if [ "$r" -gt 1 ] && ! have_time "$need"; then
    echo "# SKIPPED repetitions $r..$REPS: not enough time left before MAX_SECS=$MAX_SECS"
    break
  fi
  t=$(date +%s)
  if [ "$r" -le "$INGEST_REPS" ]; then
    log "repetition $r of $REPS: ingest"
    for s in $(order "$r"); do
      measure ingest.big "$s" MiB/s MiB/s warm -- \
        "$FSB" write "${ROOT[$s]}/big-r$r" "$BIG_N" $((16 << 20)) -f
    done
    for s in $(order "$r"); do
      measure ingest.small "$s" files/s files/s warm -- \
        "$FSB" write "${ROOT[$s]}/small-r$r" "$SMALL_N" 4096 -b 4096
    done
    ingest_secs=$(($(date +%s) - t))
  fi
  t=$(date +%s)
  log "repetition $r of $REPS: reads"
  for s in $(order "$r"); do
    measure seq.file.t1 "$s" MiB/s MiB/s cold -- "$FSB" read "${ROOT[$s]}/seq" 1 -t 1
  done
  measure sdk.get sdk MiB/s MiB/s cold -- sdk_get
  measure sdk.bench sdk MiB/s MiB/s cold -- sdk_bench
  last=$(tail -n 1 "$W/raw.txt")
  add sdk.rand.qd1 sdk "$(val IOPS1 <<< "$last")"
  add sdk.rand.qd32 sdk "$(val IOPS32 <<< "$last")"
  for T in 1 4; do
    for s in $(order "$r"); do
      measure "seq.big.t$T" "$s" MiB/s MiB/s cold -- "$FSB" read "${ROOT[$s]}/big-r1" "$BIG_N" -t "$T"
    done
  done
  modes="qd1 qd32"
  [ "$RAND_JOBS" -gt 0 ] && modes+=" jobs"
  for m in $modes; do
    for s in $(order "$r"); do
      d=DIRECT_$s
      measure "rand.$m" "$s" IOPS IOPS cold -- fio_rand "${ROOT[$s]}/seq/f000000" "$m" "${!d}"
      last=$(tail -n 1 "$W/raw.txt")
      add "rand.$m.p50" "$s" "$(val p50_us <<< "$last")"
      add "rand.$m.p99" "$s" "$(val p99_us <<< "$last")"
    done
  done
  for s in $(order "$r"); do
    measure stat "$s" stats/s stats/s cold -- "$FSB" stat "${ROOT[$s]}/small-r1" "$SMALL_N"
  done
  for s in $(order "$r"); do
    measure list "$s" entries/s entries/s cold -- "$FSB" list "${ROOT[$s]}/small-r1"
  done
  for s in $(order "$r"); do
    measure list.lstat "$s" entries/s entries/s cold -- "$FSB" list "${ROOT[$s]}/small-r1" -l
  done
  read_secs=$(($(date +%s) - t))
done

report
exit 0
