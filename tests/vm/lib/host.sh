# Host side of the real-kernel tier, sourced by run.sh and demo.sh: installs what is missing,
# prepares tests/vm/cache or VH_VM_CACHE (Debian kernels, initramfs, guest helpers) and boots
# one QEMU guest.
# shellcheck shell=bash

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
CACHE=${VH_VM_CACHE:-$VM_DIR/cache}
OUT=${VH_VM_OUT:-$VM_DIR/out/${VH_KERNEL:-bookworm}}
# The programs the guests run: VH_GUEST_BUILD (make check's unsanitized build), else $B.
BUILD=${VH_GUEST_BUILD:-${B:-build}}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
# The same programs with the fault switch (make guest-faults-binaries): release builds have
# none, so the scenarios that inject faults ("# vm-build: faults") run these instead.
FAULTS_BUILD=${VH_GUEST_FAULTS_BUILD:-${B:-build}/guest-faults}
case $FAULTS_BUILD in /*) ;; *) FAULTS_BUILD=$REPO/$FAULTS_BUILD ;; esac
OVMF=${VH_OVMF:-/usr/share/ovmf/OVMF.fd}

vh_log() { printf '%s\n' "$*" >&2; }
vh_die() { printf 'vm: %s\n' "$*" >&2; exit 2; }

# Seconds since the epoch with millisecond precision, and a difference of two of them.
vh_now() { date +%s.%N | cut -c1-14; }
vh_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# apt-get install the packages whose marker file is missing ("file:package" pairs).
vh_need() {
	local pair missing=()
	for pair in "$@"; do
		[ -e "${pair%%:*}" ] || missing+=("${pair#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	vh_log "vm: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${missing[@]}" >"$CACHE/apt.log" 2>&1 ||
		{ apt-get update -q >>"$CACHE/apt.log" 2>&1 &&
			apt-get install -y -q --no-install-recommends "${missing[@]}" \
				>>"$CACHE/apt.log" 2>&1; } ||
		vh_die "apt-get install ${missing[*]} failed (see $CACHE/apt.log)"
}

vh_host_deps() {
	mkdir -p "$CACHE" "$OUT"
	vh_need /usr/bin/qemu-system-x86_64:qemu-system-x86 "$OVMF":ovmf \
		/bin/busybox:busybox-static /usr/sbin/depmod:kmod /usr/bin/gcc:gcc \
		/usr/bin/cpio:cpio /usr/bin/gzip:gzip /usr/bin/xz:xz-utils
	[ -d /usr/lib/systemd ] || vh_die "the host has no systemd; the single-GPU guest needs it"
}

# The Debian release whose kernel the guests boot (VH_KERNEL): bookworm (Debian 12, Linux
# 6.1, the default) or trixie (Debian 13, Linux 6.12). Each kernel is kept in the cache beside
# the others, in $CACHE/<kernel version>/, so switching between them downloads nothing.
VH_KERNEL=${VH_KERNEL:-bookworm}
VH_KERNELS="bookworm trixie"

# The host's own release: its kernels come through the machine's apt; any other release's
# through an apt of our own (vh_apt), which leaves the machine's apt configuration alone.
vh_host_suite() { sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null; }

# The Debian mirror the machine uses, for its main archive or (with "security") its security
# archive: from its sources (one-line or deb822), else deb.debian.org.
vh_mirror() {
	local want=${1:-} uri
	uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n 's/^deb \(\[[^]]*\] \)*\(https\?:[^ ]*\) .*/\2/p')
	uri+=$'\n'$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed -n 's/^URIs: *//p' | tr ' ' '\n')
	if [ "$want" = security ]; then
		uri=$(grep -- '-security/*$' <<<"$uri" | head -1)
		printf '%s\n' "${uri:-http://deb.debian.org/debian-security}"
	else
		uri=$(grep -v -- '-security/*$' <<<"$uri" | grep '/debian/*$' | head -1)
		printf '%s\n' "${uri:-http://deb.debian.org/debian}"
	fi
}

# vh_apt SUITE COMMAND ARGS...: apt-get or apt-cache with its own sources list (the host's
# mirror, suite SUITE), state, lists, cache and configuration parts under $CACHE/apt/SUITE.
# The machine's proxy setting, if any, is passed on.
vh_apt() {
	local suite=$1 cmd=$2 a=$CACHE/apt/$1 key=/usr/share/keyrings/debian-archive-keyring.gpg
	local proxy=
	shift 2
	if [ ! -f "$a/sources.list" ]; then
		mkdir -p "$a"/{parts,sources.list.d,preferences.d,lists/partial,cache/archives/partial,state}
		: >"$a/status"
		{
			echo "deb [signed-by=$key] $(vh_mirror) $suite main"
			echo "deb [signed-by=$key] $(vh_mirror) $suite-updates main"
			echo "deb [signed-by=$key] $(vh_mirror security) $suite-security main"
		} >"$a/sources.list.tmp" && mv "$a/sources.list.tmp" "$a/sources.list"
	fi
	eval "$(apt-config shell proxy Acquire::http::Proxy 2>/dev/null)"
	"$cmd" -q -o Dir::Etc::SourceList="$a/sources.list" \
		-o Dir::Etc::SourceParts="$a/sources.list.d" -o Dir::Etc::Parts="$a/parts" \
		-o Dir::Etc::Preferences="$a/preferences" \
		-o Dir::Etc::PreferencesParts="$a/preferences.d" -o Dir::State="$a/state" \
		-o Dir::State::Lists="$a/lists" -o Dir::State::status="$a/status" \
		-o Dir::Cache="$a/cache" -o Acquire::Languages=none \
		${proxy:+-o Acquire::http::Proxy="$proxy"} "$@"
}

# apt-get/apt-cache for VH_KERNEL's release: the machine's for its own release, else ours.
vh_kapt() {
	if [ "$VH_KERNEL" = "$(vh_host_suite)" ]; then
		"$@"
	else
		vh_apt "$VH_KERNEL" "$@"
	fi
}

# The ABI linux-image-amd64 of the release depends on in the package lists (updated when they
# cannot say), or the one last fetched when no list can.
vh_kernel_abi() {
	local abi dep='s/.*Depends: linux-image-\([0-9].*\)-amd64$/\1-amd64/p'
	[ -n "${1:-}" ] || abi=$(vh_kapt apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n "$dep" | head -1)
	if [ -z "${abi:-}" ]; then
		vh_kapt apt-get update >>"$CACHE/apt.log" 2>&1 || true
		abi=$(vh_kapt apt-cache depends linux-image-amd64 2>/dev/null | sed -n "$dep" | head -1)
	fi
	if [ -z "$abi" ]; then
		abi=$(cat "$CACHE/$VH_KERNEL.abi" 2>/dev/null) ||
			vh_die "cannot find $VH_KERNEL's kernel ABI (apt-cache depends linux-image-amd64)"
	fi
	printf '%s\n' "$abi"
}

# $CACHE/<version>/root: the unpacked linux-image package, its modules depmod'ed in place.
# Sets KVER, KDIR, VMLINUZ and KCACHE (the version's directory).
vh_kernel() {
	local abi d
	case " $VH_KERNELS " in *" $VH_KERNEL "*) ;;
	*) vh_die "VH_KERNEL=$VH_KERNEL: not one of $VH_KERNELS" ;;
	esac
	# The layout before kernels were kept side by side: one kernel, one initramfs.
	rm -rf "$CACHE/kernel" "$CACHE/initramfs.cpio.gz" "$CACHE/initramfs.cpio.gz.sum"
	abi=$(vh_kernel_abi) || exit 2
	vh_set_kernel "$abi"
	[ -f "$VMLINUZ" ] && [ -f "$KDIR/lib/modules/$KVER/modules.dep" ] && return 0
	vh_log "vm: fetching linux-image-$abi ($VH_KERNEL)"
	rm -rf "$KCACHE"
	mkdir -p "$KCACHE/deb"
	if ! (cd "$KCACHE/deb" && vh_kapt apt-get download "linux-image-$abi") \
		>>"$CACHE/apt.log" 2>&1; then
		# Lists older than the archive: the ABI moved on. Once more, from fresh lists.
		rm -rf "$KCACHE"
		abi=$(vh_kernel_abi update) || exit 2
		vh_set_kernel "$abi"
		mkdir -p "$KCACHE/deb"
		(cd "$KCACHE/deb" && vh_kapt apt-get download "linux-image-$abi") \
			>>"$CACHE/apt.log" 2>&1 ||
			vh_die "apt-get download linux-image-$abi failed (see $CACHE/apt.log)"
	fi
	dpkg -x "$KCACHE"/deb/linux-image-*.deb "$KDIR" || vh_die "cannot unpack linux-image-$abi"
	rm -rf "$KCACHE/deb"
	# Trixie's package keeps the modules in usr/lib/modules (merged /usr), bookworm's in
	# lib/modules; depmod -b and modprobe -d look in lib/modules. One place in the cache.
	if [ -d "$KDIR/usr/lib/modules/$KVER" ] && [ ! -e "$KDIR/lib/modules/$KVER" ]; then
		mkdir -p "$KDIR/lib/modules"
		mv "$KDIR/usr/lib/modules/$KVER" "$KDIR/lib/modules/"
	fi
	depmod -b "$KDIR" "$KVER" || vh_die "depmod failed"
	echo "$VH_KERNEL" >"$KCACHE/release"
	echo "$abi" >"$CACHE/$VH_KERNEL.abi"
	# The release's older kernels, replaced by this one.
	for d in "$CACHE"/*/release; do
		[ "$(cat "$d")" = "$VH_KERNEL" ] && [ "${d%/release}" != "$KCACHE" ] &&
			rm -rf "${d%/release}"
	done
	return 0
}

vh_set_kernel() {
	KVER=$1
	KCACHE=$CACHE/$KVER
	KDIR=$KCACHE/root
	VMLINUZ=$KDIR/boot/vmlinuz-$KVER
	INITRD=$KCACHE/initramfs.cpio.gz
}

# Rebuilds TARGET from the command when any of the inputs changed (content hash).
vh_stale() {
	local target=$1; shift
	local sum
	sum=$( { printf '%s\n' "$@"; cat "$@"; } | sha256sum | cut -d' ' -f1)
	[ -e "$target" ] && [ "$(cat "$target.sum" 2>/dev/null)" = "$sum" ] && return 1
	VH_SUM=$sum
	return 0
}

# The modules the initramfs needs before the module tree is reachable over 9p.
VH_EARLY_MODULES="virtio_pci 9p 9pnet_virtio overlay"

vh_initramfs() {
	local inputs=("$VM_DIR/guest/init" "$VM_DIR/guest/modprobe" "$VM_DIR/lib/host.sh"
		/bin/busybox "$KDIR/lib/modules/$KVER/modules.dep")
	vh_stale "$INITRD" "${inputs[@]}" || return 0
	local sum=$VH_SUM st=$KCACHE/initramfs.d m line src dst
	rm -rf "$st"
	mkdir -p "$st"/{bin,sbin,dev,proc,sys,run,tmp,newroot,lib/modules/"$KVER"}
	cp /bin/busybox "$st/bin/busybox"
	for m in sh mount modprobe insmod chroot switch_root poweroff; do
		ln -s busybox "$st/bin/$m"
	done
	# The kernel runs /sbin/modprobe to autoload (e.g. the HDA codec driver).
	install -m 0755 "$VM_DIR/guest/modprobe" "$st/sbin/modprobe"
	# The early modules uncompressed (trixie's are .ko.xz: busybox's modprobe hands them to
	# the kernel as they are first, which logs "Invalid ELF header magic" for each).
	for m in $VH_EARLY_MODULES; do
		modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | while read -r line; do
			set -- $line
			[ "$1" = insmod ] || continue
			src=$2
			dst=$st/lib/modules/$KVER/${src#"$KDIR/lib/modules/$KVER/"}
			mkdir -p "${dst%/*}"
			case $src in
			*.ko.xz) xz -dc "$src" >"${dst%.xz}" ;;
			*.ko.zst) zstd -qdc "$src" >"${dst%.zst}" ;;
			*.ko.gz) gzip -dc "$src" >"${dst%.gz}" ;;
			*) cp "$src" "$dst" ;;
			esac || vh_die "cannot copy $src into the initramfs"
		done
	done
	cp "$KDIR/lib/modules/$KVER/modules.order" "$KDIR/lib/modules/$KVER/modules.builtin" \
		"$KDIR/lib/modules/$KVER/modules.builtin.modinfo" "$st/lib/modules/$KVER/"
	depmod -b "$st" "$KVER"
	install -m 0755 "$VM_DIR/guest/init" "$st/init"
	(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
	echo "$sum" >"$INITRD.sum"
	rm -rf "$st"
}

# Small C programs the guest runs (vfio group check, a compositor-like holder).
vh_helpers() {
	local src name
	mkdir -p "$CACHE/bin"
	for src in "$VM_DIR"/helpers/*.c; do
		name=$(basename "$src" .c)
		vh_stale "$CACHE/bin/$name" "$src" || continue
		gcc -O2 -Wall -Wextra -o "$CACHE/bin/$name" "$src" || vh_die "cannot build $name"
		echo "$VH_SUM" >"$CACHE/bin/$name.sum"
	done
}

vh_prepare_cache() {
	vh_host_deps
	vh_kernel
	vh_initramfs
	vh_helpers
	[ -x "$BUILD/vfio-handoff-hook" ] && [ -x "$BUILD/vfio-handoff" ] ||
		vh_die "$BUILD/vfio-handoff-hook and $BUILD/vfio-handoff are missing: run make first"
}

# TCG unless a real (not paravirtualised) KVM is usable.
vh_accel() {
	if grep -qE '\b(vmx|svm)\b' /proc/cpuinfo && [ -w /dev/kvm ] &&
		! grep -q '^kvm_pvm ' /proc/modules; then
		echo "-machine q35,accel=kvm,kernel-irqchip=split -cpu host,-arch-capabilities"
	else
		echo "-machine q35,accel=tcg -cpu max"
	fi
}

# The emulated host both tiers boot, into the array VH_HOST_ARGS: the accelerator, the
# IOMMU, the GPU slot (VGA + HDA with a codec + xHCI, one IOMMU group), and the host's /usr
# and /etc (VH_GUEST_ROOT's when set), the guest kernel's modules and the guest helpers over
# read-only 9p. Callers add memory, console,
# kernel, initrd and their own shares.
vh_host_args() {
	local ro=security_model=passthrough,readonly=on
	# shellcheck disable=SC2207
	VH_HOST_ARGS=($(vh_accel) -smp "${VH_SMP:-2}"
		-nodefaults -no-user-config -display none -monitor none -no-reboot
		-device intel-iommu,intremap=on,caching-mode=on
		-device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c,chassis=1,slot=1
		-device VGA,id=gpu,bus=rp1,addr=0x0.0,multifunction=on
		-device ich9-intel-hda,id=hda,bus=rp1,addr=0x0.1
		-device hda-duplex,bus=hda.0,audiodev=noaudio -audiodev none,id=noaudio
		-device qemu-xhci,id=xhci,bus=rp1,addr=0x0.2
		-virtfs "local,path=${VH_GUEST_ROOT:-}/usr,mount_tag=usr,$ro"
		-virtfs "local,path=${VH_GUEST_ROOT:-}/etc,mount_tag=etc,$ro"
		-virtfs "local,path=$KDIR/lib/modules,mount_tag=modules,$ro"
		-virtfs "local,path=$CACHE/bin,mount_tag=helpers,$ro")
}

# The kernel command line both tiers start from (no_timer_check: under load the OVMF guest
# otherwise panics with "timer doesn't work through Interrupt-remapped IO-APIC").
VH_APPEND="console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check"

# vh_boot LOG TIMEOUT FIRMWARE(seabios|ovmf) APPEND...: boots the emulated host with the
# serial console into LOG; returns qemu's status (124 on timeout).
vh_boot() {
	local log=$1 tmo=$2 fw=$3; shift 3
	local bios=() ro=security_model=passthrough,readonly=on
	[ "$fw" = ovmf ] && bios=(-bios "$OVMF")
	vh_host_args
	timeout -k 5 "$tmo" qemu-system-x86_64 "${VH_HOST_ARGS[@]}" -m 1G \
		-serial "file:$log" "${bios[@]}" \
		-kernel "$VMLINUZ" -initrd "$INITRD" -append "$VH_APPEND $*" \
		-virtfs "local,path=$BUILD,mount_tag=build,$ro" \
		-virtfs "local,path=$VM_DIR,mount_tag=vmdir,$ro" \
		</dev/null >/dev/null 2>>"$log.qemu"
}

# A scenario's settings, from its header lines "# vm-firmware: ovmf", "# vm-init: systemd",
# "# vm-timeout: 300", "# vm-append: <kernel parameters>", "# vm-build: faults".
vh_scenario_opt() {
	local v
	v=$(sed -n "s/^# vm-$2: *//p" "$1" | head -1)
	printf '%s\n' "${v:-$3}"
}
