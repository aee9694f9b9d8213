#!/usr/bin/env bash
# Installs what Sluice needs to build, run and test on Debian 12, from
# Debian's own packages. Uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libfabric-dev libfabric-bin librocksdb-dev liburing-dev
  libprotobuf-c-dev protobuf-c-compiler libssl-dev libinih-dev libisal-dev
  libcriterion-dev openssl libfuse3-dev fuse3 attr fio
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
