#!/usr/bin/env bash
# Benchmarks a fresh local cluster against baselines measured in the same run
# on the same machine: fio on the same filesystem (the disk), raw libfabric
# RMA writes (the transport), and plain files (sluice-bench's own baselines).
# Prints one figure per line and the ratios. Needs fio (apt-get install fio).
#
#   deploy/bench.sh [--size MiB] [--files N] [--random N]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SLUICE_BUILD_DIR:-$top/build}
size=256 files=2000 random=5000
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --random) random=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v fio > /dev/null || { echo "bench: fio is needed (apt-get install fio)" >&2; exit 1; }
[ -x "$build/tools/sluice-bench" ] || { echo "bench: build first (ninja -C $build)" >&2; exit 1; }

work=$(mktemp -d "$top/local-cluster-bench.XXXXXX")
export SLUICE_CLUSTER_DIR=$work/cluster SLUICE_META_PORT=${SLUICE_META_PORT:-7300}
cleanup() { "$top/deploy/local-cluster.sh" stop > /dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

"$top/deploy/local-cluster.sh" start 3 > /dev/null
S=("$build/tools/sluice")
admin=(-c "$SLUICE_CLUSTER_DIR/meta/admin.credentials")
"${S[@]}" "${admin[@]}" tenant create bench > /dev/null
"${S[@]}" "${admin[@]}" principal create runner --tenant bench --role admin --role writer \
  --role reader --purpose inference --out "$work/bench.cred" > /dev/null
"${S[@]}" -c "$work/bench.cred" ns create b > /dev/null

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), data in $work"
echo "# fio on the cluster's filesystem, O_DIRECT, io_uring"
fio_bw() { fio --name=b --filename="$work/fio.dat" --size="${size}M" --direct=1 --ioengine=io_uring \
  --output-format=terse --terse-version=3 --minimal "$@" 2>/dev/null; }
seq=$(fio_bw --rw=read --bs=1M --iodepth=1 --runtime=10 --time_based=0 | cut -d';' -f7)
rnd=$(fio_bw --rw=randread --bs=4k --iodepth=1 --runtime=5 --time_based=1 | cut -d';' -f8)
rnd32=$(fio_bw --rw=randread --bs=4k --iodepth=32 --runtime=5 --time_based=1 | cut -d';' -f8)
printf 'fio.read.seq.1m.qd1        %10.1f MiB/s\n' "$(echo "$seq" | awk '{print $1/1024}')"
printf 'fio.read.rand4k.qd1        %10.0f IOPS\n' "$rnd"
printf 'fio.read.rand4k.qd32       %10.0f IOPS\n' "$rnd32"
rm -f "$work/fio.dat"

echo "# sluice (3 data servers, 3 replicas) and its in-process baselines"
out=$("$build/tools/sluice-bench" -c "$work/bench.cred" -n b --size "$size" --files "$files" \
  --random "$random" --dir "$work")
echo "$out"
sl_seq=$(echo "$out" | awk '/^sluice.read.seq.warm/ {print $2}')
sl_rnd=$(echo "$out" | awk '/^sluice.read.rand4k.qd1/ {print $2}')
sl_rnd32=$(echo "$out" | awk '/^sluice.read.rand4k.qd32/ {print $2}')
echo "# the CLI ingesting a folder of $files files of 4 KiB, 4 at a time"
mkdir -p "$work/folder"
for ((i = 0; i < files; i++)); do head -c 4096 /dev/urandom > "$work/folder/f$i"; done
t0=$(date +%s.%N)
"${S[@]}" -c "$work/bench.cred" put "$work/folder" b/folder --jobs 4 --no-progress > /dev/null
t1=$(date +%s.%N)
awk -v n="$files" -v a="$t0" -v b="$t1" 'BEGIN { printf "cli.put.folder.4k.jobs4     %9.0f files/s\n", n / (b - a) }'
awk -v a="$sl_seq" -v b="$(echo "$seq" | awk '{print $1/1024}')" \
  'BEGIN { printf "ratio.read.seq.vs_fio       %9.2f  sluice / fio sequential 1 MiB O_DIRECT\n", a / b }'
awk -v a="$sl_rnd" -v b="$rnd" \
  'BEGIN { printf "ratio.read.rand4k.vs_fio    %9.2f  sluice / fio random 4 KiB O_DIRECT, depth 1\n", a / b }'
awk -v a="$sl_rnd32" -v b="$rnd32" \
  'BEGIN { printf "ratio.read.rand4k32.vs_fio  %9.2f  sluice / fio random 4 KiB O_DIRECT, depth 32\n", a / b }'
