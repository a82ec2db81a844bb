#!/bin/bash
# The real-libvirt tier (make check-libvirt): boots the real-kernel test guest with libvirtd
# inside, installs the project there with install.sh and drives the hook with virsh.
#   tests/libvirt/run.sh      VH_LIBVIRT_TIMEOUT=1800 (s), VH_LIBVIRT_KEEP=1 keeps the logs
#   VH_LIBVIRT_USERLAND=host    the host's libvirt (Debian 12: 9.0) on Debian 12's kernel
#   VH_LIBVIRT_USERLAND=trixie  Debian 13's libvirt 11.3 (tests/libvirt/lib/userland.sh) on
#                               Debian 13's kernel (VH_KERNEL chooses another)
set -u
cd "$(dirname "$0")/../.." || exit 2
USERLAND=${VH_LIBVIRT_USERLAND:-host}
[ "$USERLAND" = trixie ] && export VH_KERNEL=${VH_KERNEL:-trixie}
# The real-kernel tier's cache and boot helpers: kernel, initramfs, vh_accel, vh_need.
. tests/vm/lib/host.sh
. tests/libvirt/lib/userland.sh
LV_DIR=$REPO/tests/libvirt
LV_OUT=${VH_LIBVIRT_OUT:-$LV_DIR/out/$USERLAND}
TMO=${VH_LIBVIRT_TIMEOUT:-1800}

t0=$(vh_now)
abort() { echo "libvirt: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

rm -rf "$LV_OUT"
mkdir -p "$LV_OUT/guest" || abort "cannot create $LV_OUT"
# The helpers' problems are this tier's failures, with the closing line.
vh_die() { abort "$*"; }
vh_prepare_cache
if [ "$USERLAND" = host ]; then
	multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
	vh_need /usr/sbin/libvirtd:libvirt-daemon /usr/sbin/virtlogd:libvirt-daemon \
		"/usr/lib/$multiarch/libvirt/connection-driver/libvirt_driver_qemu.so:libvirt-daemon-driver-qemu" \
		/usr/bin/virsh:libvirt-clients /usr/bin/make:make
fi
lv_userland "$USERLAND"
export VH_GUEST_ROOT=$LV_ROOT
[ -x "$REPO/install.sh" ] || abort "install.sh is missing"

# The real-kernel tier's initramfs with our /init in place of its own (a second cpio
# archive appended: the kernel unpacks both, the later file wins).
work=$(mktemp -d /tmp/vh-libvirt.XXXXXX)
trap 'rm -rf "$work"' EXIT
st=$work/initramfs
mkdir -p "$st/bin"
install -m 0755 "$LV_DIR/guest/init" "$st/init"
for a in mkdir ln chmod rm sleep cat sync; do ln -s busybox "$st/bin/$a"; done
(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$work/init.cpio.gz" ||
	abort "cannot build the initramfs"
cat "$INITRD" "$work/init.cpio.gz" >"$work/initrd.gz"
# The Debian package and the host's dpkg database for the guest's deb.sh (VH_DEB_ARGS).
. "$LV_DIR/deb.sh"

echo "libvirt: kernel $KVER, $LV_USERLAND_DESC, $(vh_accel |
	sed 's/.*accel=\([a-z]*\).*/\1/'), ready to boot in $(vh_elapsed "$t0" "$(vh_now)") s"
log=$LV_OUT/console.log
# An NVMe controller of its own on the root complex (its own IOMMU group) with one
# namespace, for tests/libvirt/guest/nvme.sh's <disk type='nvme'>.
truncate -s 16M "$work/nvme.img" || abort "cannot create the NVMe image"
ro=security_model=passthrough,readonly=on
s=$(vh_now)
vh_host_args
timeout -k 5 "$TMO" qemu-system-x86_64 "${VH_HOST_ARGS[@]}" -m 1536M \
	-serial "file:$log" \
	-kernel "$VMLINUZ" -initrd "$work/initrd.gz" -append "$VH_APPEND" \
	-virtfs "local,path=$REPO,mount_tag=src,$ro" \
	-virtfs "local,path=$BUILD,mount_tag=build,$ro" \
	-virtfs "local,path=$LV_OUT/guest,mount_tag=out,security_model=passthrough" \
	"${VH_DEB_ARGS[@]}" \
	-drive "file=$work/nvme.img,if=none,id=nvm,format=raw" -device nvme,serial=vh-nvme0,drive=nvm \
	</dev/null >/dev/null 2>"$LV_OUT/qemu.stderr"
st=$?
wall=$(vh_elapsed "$s" "$(vh_now)")

# The guest's report, without the kernel's own lines.
tr -d '\r' <"$log" | grep -v '^\[ *[0-9]*\.[0-9]*\]' | grep -v '^VL-DONE$'
passed=$(tr -d '\r' <"$log" | grep -c '^ok ')
failed=$(tr -d '\r' <"$log" | grep -c '^not ok ')
if ! tr -d '\r' <"$log" | grep -q '^guest: [0-9]* ok, [0-9]* not ok'; then
	failed=$((failed + 1))
	if [ $st -eq 124 ] || [ $st -eq 137 ]; then
		echo "not ok - the guest timed out after $TMO s"
	else
		echo "not ok - the guest stopped without finishing (qemu status $st): $(tr -d '\r' <"$log" | grep -v '^VL-DONE$' | tail -3 | paste -sd'|' | sed 's/|/ | /g')"
		tail -5 "$LV_OUT/qemu.stderr" 2>/dev/null | sed 's/^/    qemu: /'
	fi
fi
echo "libvirt: guest ${wall} s, $(vh_elapsed "$t0" "$(vh_now)") s in all"
if [ "$failed" -eq 0 ] && [ "${VH_LIBVIRT_KEEP:-0}" != 1 ]; then
	rm -rf "$LV_OUT"
else
	echo "libvirt: logs in ${LV_OUT#"$REPO"/}/ (console.log, guest/: syslog, libvirtd.log, qemu/, dmesg)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
