#!/usr/bin/env bash
# Runs a Sluice cluster on this machine: one sluice-meta and N sluice-data on
# 127.0.0.1 over tcp;ofi_rxm, state under one folder.
#
#   deploy/local-cluster.sh start [N]    start (default 3 data servers)
#   deploy/local-cluster.sh stop         stop every process, keep the data
#   deploy/local-cluster.sh status       what runs, and the data servers meta sees
#   deploy/local-cluster.sh wipe         stop and delete the state folder
#
# Environment: SLUICE_CLUSTER_DIR (default <checkout>/local-cluster),
# SLUICE_BUILD_DIR (default <checkout>/build), SLUICE_META_PORT (default 7000).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${SLUICE_CLUSTER_DIR:-$top/local-cluster}
build=${SLUICE_BUILD_DIR:-$top/build}
port=${SLUICE_META_PORT:-7000}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# True when something already listens on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # file pattern seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start() {
  local n=${1:-3} i
  [ -x "$build/server/meta/sluice-meta" ] || { echo "not built: run meson setup $build && ninja -C $build" >&2; exit 1; }
  mkdir -p "$dir"
  if running "$dir/meta.pid"; then
    echo "a cluster already runs from $dir (deploy/local-cluster.sh stop first)" >&2
    exit 1
  fi
  # Without an explicit port, step past ports other programs hold.
  if [ -z "${SLUICE_META_PORT:-}" ]; then
    while port_busy "$port" && [ "$port" -lt 7100 ]; do port=$((port + 1)); done
  fi
  if port_busy "$port"; then
    echo "127.0.0.1:$port is in use: set SLUICE_META_PORT to a free port" >&2
    exit 1
  fi
  meta_addr=127.0.0.1:$port
  cat > "$dir/meta.ini" <<EOF
; sluice-meta configuration of the local cluster
[meta]
listen = $meta_addr
data-dir = $dir/meta
log-level = info
EOF
  "$build/server/meta/sluice-meta" --config "$dir/meta.ini" > "$dir/meta.out" 2> "$dir/meta.log" &
  echo $! > "$dir/meta.pid"
  if ! wait_for "$dir/meta.out" "ready" 10; then
    echo "sluice-meta did not start; its log:" >&2
    cat "$dir/meta.log" >&2
    exit 1
  fi
  for ((i = 1; i <= n; i++)); do
    # Each data server gets its own key, derived from the cluster key for its id.
    if [ ! -f "$dir/data$i.key" ]; then
      "$build/server/meta/sluice-meta" --cluster-key "$dir/meta/cluster.key" \
        --server-key "$i" --out "$dir/data$i.key"
    fi
    cat > "$dir/data$i.ini" <<EOF
; sluice-data configuration of the local cluster
[data]
id = $i
meta = $meta_addr
data-dir = $dir/data$i
server-key = $dir/data$i.key
ca-file = $dir/meta/ca.pem
provider = tcp;ofi_rxm
fabric-addr = 127.0.0.1
label = local-$i
EOF
    "$build/server/data/sluice-data" --config "$dir/data$i.ini" > "$dir/data$i.out" 2> "$dir/data$i.log" &
    echo $! > "$dir/data$i.pid"
  done
  for ((i = 1; i <= n; i++)); do
    if ! wait_for "$dir/data$i.log" "registered" 10; then
      echo "sluice-data $i did not register; its log:" >&2
      cat "$dir/data$i.log" >&2
      exit 1
    fi
  done
  echo "local cluster up: sluice-meta on $meta_addr, $n data servers, state in $dir"
  echo "admin credentials: $dir/meta/admin.credentials"
}

stop() {
  local f pid stopped=0 m
  # Mounts of the cluster under its folder (the quickstart's) go first, so
  # that nothing is left pointing at stopped servers and wipe never walks
  # into a mount.
  for m in "$dir"/mnt*; do
    if [ -d "$m" ] && grep -qF " $m " /proc/self/mountinfo 2>/dev/null; then
      fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
      echo "unmounted $m"
    fi
  done
  for f in "$dir"/data*.pid "$dir"/meta.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      stopped=$((stopped + 1))
    fi
    rm -f "$f"
  done
  echo "stopped $stopped process(es)"
}

status() {
  local f
  for f in "$dir"/meta.pid "$dir"/data*.pid; do
    [ -f "$f" ] || continue
    if running "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"
    else echo "$(basename "$f" .pid): not running"; fi
  done
  if running "$dir/meta.pid"; then
    "$build/tools/sluice" -c "$dir/meta/admin.credentials" servers
  fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  wipe) stop; rm -rf "$dir"; echo "removed $dir" ;;
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
  "") sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  *) echo "unknown command '$1' (start, stop, status, wipe)" >&2; exit 2 ;;
esac
