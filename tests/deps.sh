#!/bin/bash
# Installs what building and testing need, when it is missing (Debian 12, as root), so
# `make check` and `make demo` work on a fresh machine. Run by those targets and by CI.
set -euo pipefail
pkgs=(build-essential pkg-config libxml2-dev libpci-dev libkmod-dev libcmocka-dev libvirt-dev
      pci.ids kmod binutils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
	{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
