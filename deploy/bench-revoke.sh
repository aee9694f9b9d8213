#!/usr/bin/env bash
# How fast a restrictive change reaches the data servers: a local cluster
# (1 sluice-meta + 3 sluice-data), an admin and an internal-clearance reader,
# and sluice-bench-revoke's rounds (tag raised while the reader streams).
#
#   deploy/bench-revoke.sh [ROUNDS]
#
# Uses this checkout's build/ (SLUICE_BUILD_DIR to name another). The
# cluster lives in a temporary folder and is stopped at the end.
set -euo pipefail
rounds=${1:-9}
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SLUICE_BUILD_DIR:-$top/build}
work=$(mktemp -d /tmp/sluice-bench-revoke.XXXXXX)
export SLUICE_CLUSTER_DIR=$work/cluster SLUICE_BUILD_DIR=$build
export SLUICE_META_PORT=${SLUICE_META_PORT:-7430}
stop() { "$top/deploy/local-cluster.sh" stop > /dev/null 2>&1 || true; rm -rf "$work"; }
trap stop EXIT

"$top/deploy/local-cluster.sh" start 3 > /dev/null
S=("$build/tools/sluice" -c "$work/cluster/meta/admin.credentials")
"${S[@]}" tenant create bench > /dev/null
"${S[@]}" principal create owner --tenant bench --role admin --role writer --role reader \
  --purpose inference --clearance restricted --out "$work/owner.cred" > /dev/null
"$build/tools/sluice" -c "$work/owner.cred" principal create reader --role reader \
  --purpose inference --clearance internal --out "$work/reader.cred" > /dev/null
"$build/tools/sluice" -c "$work/owner.cred" ns create b > /dev/null
"$build/tools/sluice-bench-revoke" -c "$work/owner.cred" -r "$work/reader.cred" -n b \
  --rounds "$rounds"
