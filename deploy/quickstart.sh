#!/usr/bin/env bash
# From a fresh clone to a working Sluice: installs what is needed, builds,
# starts a local cluster (1 sluice-meta + 3 sluice-data on 127.0.0.1 over
# tcp;ofi_rxm, state in ./local-cluster) and shows it doing its job:
# tenants, principals, a tagged ingest, reads, and a refused cross-tenant read.
#
# Re-running it starts over with a fresh local cluster.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
dir=$top/local-cluster
build=$top/build
S=("$build/tools/sluice")

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" | sed "s#$top/##g"; "$@"; }

step "Installing build dependencies (Debian packages)"
deploy/install-deps.sh

step "Building with Meson"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release -Dtests=disabled > /dev/null
fi
ninja -C "$build"

step "Starting a local cluster"
deploy/local-cluster.sh wipe > /dev/null
deploy/local-cluster.sh start 3
admin=(-c "$dir/meta/admin.credentials")
show "${S[@]}" "${admin[@]}" servers

step "Creating two tenants, each with a principal"
show "${S[@]}" "${admin[@]}" tenant create acme
show "${S[@]}" "${admin[@]}" tenant create globex
show "${S[@]}" "${admin[@]}" principal create alice --tenant acme --role admin --role writer \
  --role reader --purpose inference --purpose training --clearance confidential \
  --out "$dir/acme-alice.credentials"
show "${S[@]}" "${admin[@]}" principal create bob --tenant globex --role admin --role writer \
  --role reader --purpose inference --clearance confidential --out "$dir/globex-bob.credentials"
alice=(-c "$dir/acme-alice.credentials")
bob=(-c "$dir/globex-bob.credentials")
show "${S[@]}" "${alice[@]}" ns create datasets --tag region=eu
show "${S[@]}" "${bob[@]}" ns create datasets

step "Generating a small sample dataset"
sample=$dir/sample
mkdir -p "$sample/docs" "$sample/images" "$sample/embeddings"
for i in $(seq -w 1 12); do
  printf 'Document %s\nQuarterly notes for the inference fleet, page %s.\n' "$i" "$i" > "$sample/docs/report-$i.txt"
done
for i in 1 2 3; do head -c $((200 * 1024 + i)) /dev/urandom > "$sample/images/frame-$i.raw"; done
head -c $((24 * 1024 * 1024)) /dev/urandom > "$sample/embeddings/part-0.bin"
echo "$(find "$sample" -type f | wc -l) files, $(du -sh "$sample" | cut -f1) in $sample"

step "Ingesting it into acme/datasets with governance tags"
show "${S[@]}" "${alice[@]}" put "$sample" datasets/demo --tag classification=internal \
  --tag pii=none --tag source=quickstart --progress
show "${S[@]}" "${alice[@]}" put "$sample/docs/report-01.txt" datasets/restricted/report.txt \
  --tag classification=restricted

step "Listing, stat and a byte-for-byte read back"
show "${S[@]}" "${alice[@]}" ls datasets/demo/docs/
show "${S[@]}" "${alice[@]}" stat datasets/demo/embeddings/part-0.bin
show "${S[@]}" "${alice[@]}" get datasets/demo/embeddings/part-0.bin -o "$dir/part-0.copy"
if cmp -s "$sample/embeddings/part-0.bin" "$dir/part-0.copy"; then
  echo "read back: byte-identical to the source ($(sha256sum "$dir/part-0.copy" | cut -c1-16)...)"
else
  echo "read back differs from the source" >&2
  exit 1
fi
show "${S[@]}" "${alice[@]}" get datasets/demo/docs/report-07.txt

step "Governance at work"
echo "# alice's clearance is confidential: a restricted object is refused and audited"
show "${S[@]}" "${alice[@]}" get datasets/restricted/report.txt || true
echo "# bob (tenant globex) asks for acme's object: answered exactly like a missing one"
show "${S[@]}" "${bob[@]}" get datasets/demo/docs/report-07.txt || true
show "${S[@]}" "${bob[@]}" get datasets/demo/no-such-object || true
echo "# every decision is in acme's audit log, hash-chained"
show "${S[@]}" "${alice[@]}" audit --after 20

step "The same data as a file tree: sluice-mount"
mnt=$dir/mnt
if [ -e /dev/fuse ]; then
  mkdir -p "$mnt"
  show "$build/tools/sluice-mount" "${alice[@]}" "$mnt" --log "$dir/mount.log"
  show ls "$mnt/datasets/demo"
  show cat "$mnt/datasets/demo/docs/report-07.txt"
  if cmp -s "$sample/embeddings/part-0.bin" "$mnt/datasets/demo/embeddings/part-0.bin"; then
    echo "read through the mount: byte-identical to the source"
  else
    echo "read through the mount differs from the source" >&2
    exit 1
  fi
  show getfattr -d --absolute-names "$mnt/datasets/demo/docs/report-07.txt"
  echo "# every open is a governed read: the restricted object is refused here too"
  show cat "$mnt/datasets/restricted/report.txt" || true
  mount_note="Mounted at $mnt (alice's view; docs/mount.md); unmount: fusermount3 -u $mnt"
else
  echo "skipped: /dev/fuse is missing on this machine (a container without FUSE?)"
  mount_note="sluice-mount needs /dev/fuse, missing here"
fi

cat <<EOF

== The cluster keeps running. Try it:
  export SLUICE_CREDENTIALS=$dir/acme-alice.credentials
  $build/tools/sluice ls datasets/demo/
  $build/tools/sluice put ./some/folder datasets/mine --tag classification=internal
  $build/tools/sluice get datasets/demo/docs/report-03.txt
  $build/tools/sluice --help
$mount_note
Logs: $dir/*.log    Status: deploy/local-cluster.sh status
Stop it with: deploy/local-cluster.sh stop   (deploy/local-cluster.sh wipe also deletes its data)
EOF
