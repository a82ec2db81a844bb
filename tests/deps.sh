#!/bin/bash
# What building and testing need on Debian 12, installed when missing so the README's
# commands work on a fresh machine (run by the Makefile before anything is compiled):
#   tests/deps.sh --build     make: the compiler and the -dev packages
#   tests/deps.sh --test      make check / make demo: the above, cmocka, and every tier's
#                             programs (QEMU, OVMF, busybox, libvirtd, mmdebstrap for the
#                             Debian 13 userland of the real-libvirt tier), in one apt-get run
#                             so the tiers, which may run side by side, never race for it
#   tests/deps.sh --bench     make bench: the build packages, the real-kernel guest's
#                             programs (QEMU, OVMF, busybox), GNU time and strace
#   tests/deps.sh --fuzz      make fuzz: the build packages, clang and its libFuzzer and
#                             sanitizer runtimes, llvm-symbolizer for the reports
#   tests/deps.sh --format    make format-check: clang-format
#   tests/deps.sh --deb       make deb: the above --build, Debian's packaging tools, lintian
# As root it installs what is missing, saying first what and why; otherwise it names the
# packages and the command to install them, and fails. Quiet when nothing is missing.
set -euo pipefail
mode=${1:---build}
build=(build-essential pkg-config libxml2-dev libpci-dev libkmod-dev libvirt-dev pci.ids)
# clang-14 pulls in neither libFuzzer nor the sanitizer runtimes (a recommendation only).
fuzz=(clang libclang-rt-14-dev llvm-14)
case $mode in
--build) pkgs=("${build[@]}"); why="to build vfio-handoff" ;;
--test)
	pkgs=("${build[@]}" libcmocka-dev kmod binutils util-linux
		qemu-system-x86 ovmf busybox-static cpio gzip
		libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients make xz-utils mmdebstrap
		debhelper dpkg-dev "${fuzz[@]}")
	why="to build and test vfio-handoff (unit tests, fuzzing, QEMU guests, libvirtd)"
	;;
--bench)
	pkgs=("${build[@]}" kmod qemu-system-x86 ovmf busybox-static cpio gzip time strace make)
	why="to run the benchmark (a QEMU guest, /usr/bin/time)"
	;;
--fuzz)
	pkgs=("${build[@]}" "${fuzz[@]}" make)
	why="to fuzz vfio-handoff's parsers (clang, libFuzzer)"
	;;
--format) pkgs=(clang-format); why="to check the code's format" ;;
--deb)
	pkgs=("${build[@]}" debhelper dpkg-dev lintian)
	why="to build and check the Debian package"
	;;
*) echo "usage: tests/deps.sh [--build|--test|--bench|--fuzz|--format|--deb]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
	echo "vfio-handoff: needs ${missing[*]} (Debian package names) $why" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "vfio-handoff: missing ${missing[*]} $why; run: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "vfio-handoff: installing ${missing[*]} $why" >&2
log=$(mktemp /tmp/vh-apt.XXXXXX)
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; }
if ! apt_install && ! { apt-get update -q >>"$log" 2>&1 && apt_install; }; then
	echo "vfio-handoff: apt-get install ${missing[*]} failed; its last lines:" >&2
	tail -5 "$log" | sed 's/^/  /' >&2
	rm -f "$log"
	exit 1
fi
rm -f "$log"
