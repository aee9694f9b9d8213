#!/usr/bin/env bash
# Checks deploy/sluice-mount.service with systemd-analyze verify, against the
# sluice-mount just built (the unit names the installed one).
#   deploy/check-unit.sh BUILT-SLUICE-MOUNT
set -euo pipefail
unit=$(cd "$(dirname "$0")" && pwd)/sluice-mount.service
bin=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/local/bin/sluice-mount#$bin#" "$unit" > "$tmp/sluice-mount.service"
out=$(systemd-analyze verify "$tmp/sluice-mount.service" 2>&1) || { echo "$out"; exit 1; }
# verify exits 0 on some complaints: any line about the unit is one.
if grep -q "sluice-mount.service" <<< "$out"; then echo "$out"; exit 1; fi
echo "sluice-mount.service: verified"
