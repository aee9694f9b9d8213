#!/usr/bin/env bash
# What the control plane costs, against another build of Sluice in the same
# run: STAT/s and small-object (4 KiB) PUT/s of sluice-bench, each build with
# its own local cluster (1 sluice-meta + 3 sluice-data), interleaved, ROUNDS
# times, medians printed with their ratio.
#
#   deploy/bench-control-plane.sh BASE_CHECKOUT [ROUNDS]
#
# BASE_CHECKOUT is another checkout with a build in BASE_CHECKOUT/build
# (e.g. `git worktree add /tmp/base <commit> && meson setup /tmp/base/build
# -Dtests=disabled && ninja -C /tmp/base/build`). This checkout's build/ is
# the other side. Clusters live under a temporary folder and are stopped at
# the end.
set -euo pipefail
base=$(cd "${1:?usage: $0 BASE_CHECKOUT [ROUNDS]}" && pwd)
rounds=${2:-7}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sluice-bench-cp.XXXXXX)

start() { # name checkout port
  local name=$1 tree=$2 port=$3 S
  export SLUICE_CLUSTER_DIR=$work/$name SLUICE_BUILD_DIR=$tree/build SLUICE_META_PORT=$port
  "$tree/deploy/local-cluster.sh" start 3 > /dev/null
  S=("$tree/build/tools/sluice" -c "$work/$name/meta/admin.credentials")
  "${S[@]}" tenant create bench > /dev/null
  "${S[@]}" principal create runner --tenant bench --role admin --role writer --role reader \
    --purpose inference --clearance internal --out "$work/$name.cred" > /dev/null
  "$tree/build/tools/sluice" -c "$work/$name.cred" ns create b > /dev/null
}
stop() {
  SLUICE_CLUSTER_DIR=$work/base "$base/deploy/local-cluster.sh" stop > /dev/null 2>&1 || true
  SLUICE_CLUSTER_DIR=$work/this "$top/deploy/local-cluster.sh" stop > /dev/null 2>&1 || true
}
trap stop EXIT

start base "$base" 7410
start this "$top" 7420
mkdir -p "$work/scratch"
for rep in $(seq "$rounds"); do
  for name in base this; do
    tree=$top; [ $name = base ] && tree=$base
    out=$("$tree/build/tools/sluice-bench" -c "$work/$name.cred" -n b --size 8 --files 1000 \
      --random 100 --dir "$work/scratch")
    put=$(echo "$out" | awk '/^sluice.ingest.small/ {print $2}')
    st=$(echo "$out" | awk '/^sluice.stat/ {print $2}')
    echo "round $rep $name put4k/s $put stat/s $st"
  done
done | tee "$work/rounds.txt"
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for what in put4k/s stat/s; do
  col=5; [ "$what" = stat/s ] && col=7
  b=$(awk -v c=$col '$3=="base" {print $c}' "$work/rounds.txt" | median)
  t=$(awk -v c=$col '$3=="this" {print $c}' "$work/rounds.txt" | median)
  echo "median $what: base $b, this $t, ratio $(awk -v b="$b" -v t="$t" 'BEGIN {printf "%.2f", b ? t/b : 0}')"
done
