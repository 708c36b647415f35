#!/usr/bin/env bash
# Installs the Debian packages minivmm needs to build and test, if any is missing.
# Idempotent and quiet when nothing is missing.
set -euo pipefail
pkgs=(gcc clang make pkg-config libelf-dev libseccomp-dev liburing-dev libinih-dev
      libcmocka-dev libclang-rt-14-dev qemu-system-x86 busybox-static spin python3
      xz-utils zstd cpio dpkg-dev gdb)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" >/dev/null
