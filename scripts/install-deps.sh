#!/usr/bin/env bash
# Installs the Debian packages etcdc needs to build and test, when any is missing.
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail

packages=(build-essential meson ninja-build pkg-config
          libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libuv1-dev
          etcd-server etcd-client)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
