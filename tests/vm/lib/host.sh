# Host side of the real-kernel tier, sourced by run.sh and demo.sh: installs what is missing,
# prepares tests/vm/cache (Debian kernel, initramfs, guest helpers) and boots one QEMU guest.
# shellcheck shell=bash

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
CACHE=${VH_VM_CACHE:-$VM_DIR/cache}
OUT=${VH_VM_OUT:-$VM_DIR/out}
# The programs the guests run: VH_GUEST_BUILD (make check's unsanitized build), else $B.
BUILD=${VH_GUEST_BUILD:-${B:-build}}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
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
		/usr/bin/cpio:cpio /usr/bin/gzip:gzip
	[ -d /usr/lib/systemd ] || vh_die "the host has no systemd; the single-GPU guest needs it"
}

# The Debian kernel ABI to test against: the one linux-image-amd64 depends on today, or the
# one already in the cache when the package lists cannot say.
vh_kernel_abi() {
	local abi
	abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\([0-9].*\)-amd64$/\1-amd64/p' | head -1)
	if [ -z "$abi" ]; then
		apt-get update -q >"$CACHE/apt.log" 2>&1 || true
		abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/.*Depends: linux-image-\([0-9].*\)-amd64$/\1-amd64/p' | head -1)
	fi
	if [ -z "$abi" ]; then
		abi=$(cat "$CACHE/kernel/abi" 2>/dev/null) ||
			vh_die "cannot find the Debian kernel ABI (apt-cache depends linux-image-amd64)"
	fi
	printf '%s\n' "$abi"
}

# cache/kernel: the unpacked linux-image package, its modules depmod'ed in place.
vh_kernel() {
	local abi
	abi=$(vh_kernel_abi)
	KVER=$abi
	KDIR=$CACHE/kernel/root
	VMLINUZ=$KDIR/boot/vmlinuz-$KVER
	if [ "$(cat "$CACHE/kernel/abi" 2>/dev/null)" = "$abi" ] && [ -f "$VMLINUZ" ] &&
		[ -f "$KDIR/lib/modules/$KVER/modules.dep" ]; then
		return 0
	fi
	vh_log "vm: fetching linux-image-$abi"
	rm -rf "$CACHE/kernel"
	mkdir -p "$CACHE/kernel/deb"
	(cd "$CACHE/kernel/deb" && apt-get download -q "linux-image-$abi" >"$CACHE/apt.log" 2>&1) ||
		vh_die "apt-get download linux-image-$abi failed (see $CACHE/apt.log)"
	dpkg -x "$CACHE"/kernel/deb/linux-image-*.deb "$KDIR"
	rm -rf "$CACHE/kernel/deb"
	depmod -b "$KDIR" "$KVER" || vh_die "depmod failed"
	echo "$abi" >"$CACHE/kernel/abi"
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
	INITRD=$CACHE/initramfs.cpio.gz
	local inputs=("$VM_DIR/guest/init" "$VM_DIR/lib/host.sh" /bin/busybox "$CACHE/kernel/abi")
	vh_stale "$INITRD" "${inputs[@]}" || return 0
	local sum=$VH_SUM st=$CACHE/initramfs.d m line
	rm -rf "$st"
	mkdir -p "$st"/{bin,sbin,dev,proc,sys,run,tmp,newroot,lib/modules/"$KVER"}
	cp /bin/busybox "$st/bin/busybox"
	for m in sh mount modprobe insmod chroot switch_root poweroff; do
		ln -s busybox "$st/bin/$m"
	done
	# The kernel runs /sbin/modprobe to autoload (e.g. the HDA codec driver).
	ln -s ../bin/busybox "$st/sbin/modprobe"
	for m in $VH_EARLY_MODULES; do
		modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | while read -r line; do
			set -- $line
			[ "$1" = insmod ] || continue
			mkdir -p "$st/${2%/*}"
			cp "$2" "$st/$2"
		done
	done
	# The copies keep their kernel/... paths under $KDIR: move them to the initramfs root.
	if [ -d "$st$KDIR" ]; then
		cp -a "$st$KDIR/lib/modules/$KVER/kernel" "$st/lib/modules/$KVER/"
		rm -rf "${st:?}/${KDIR#/}"
		rmdir -p "$st/$(dirname "${KDIR#/}")" 2>/dev/null || true
	fi
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
# and /etc and the guest kernel's modules over read-only 9p. Callers add memory, console,
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
		-virtfs "local,path=/usr,mount_tag=usr,$ro"
		-virtfs "local,path=/etc,mount_tag=etc,$ro"
		-virtfs "local,path=$KDIR/lib/modules,mount_tag=modules,$ro")
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
# "# vm-timeout: 300", "# vm-append: <kernel parameters>".
vh_scenario_opt() {
	local v
	v=$(sed -n "s/^# vm-$2: *//p" "$1" | head -1)
	printf '%s\n' "${v:-$3}"
}
