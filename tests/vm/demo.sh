#!/bin/bash
# make demo: boots a QEMU guest that looks like a single-GPU UEFI desktop and shows
# vfio-handoff handing its GPU to vfio-pci and giving it back, step by step with timings.
set -u
. "$(dirname "$0")/lib/host.sh"

t0=$(vh_now)
# On a fresh machine: the build dependencies, then the build itself.
if [ ! -x "$BUILD/vfio-handoff-hook" ] || [ ! -x "$BUILD/vfio-handoff" ]; then
	mkdir -p "$CACHE"
	vh_need /usr/bin/make:make /usr/bin/gcc:gcc /usr/bin/pkg-config:pkg-config \
		/usr/include/libxml2/libxml/parser.h:libxml2-dev /usr/include/pci/pci.h:libpci-dev \
		/usr/include/libkmod.h:libkmod-dev /usr/include/libvirt/libvirt.h:libvirt-dev
	echo "demo: building vfio-handoff"
	make -C "$REPO" -s || vh_die "the build failed"
fi
echo "demo: preparing the guest (Debian kernel, initramfs) in ${CACHE#"$REPO"/}"
vh_prepare_cache
echo "demo: booting a QEMU guest: UEFI firmware, one PCIe slot with a VGA (bochs-drm, the"
echo "      console), HDA audio and an xHCI controller in one IOMMU group, systemd and a"
echo "      display manager holding the card. Kernel $KVER, $(vh_accel |
	sed 's/.*accel=\([a-z]*\).*/\1/') (about a minute under emulation)."

log=$OUT/demo.log
rm -f "$log" "$log.qemu"
: >"$log"
# A bound for a hung guest, not an estimate: a UEFI and systemd boot under software
# emulation on a busy 2-core machine has taken past 300 s (the crash scenarios get 420).
vh_boot "$log" 600 ovmf vh.scenario=demo-guest vh.init=systemd \
	systemd.unit=vh-test.target systemd.show_status=0 &
qpid=$!
# The guest's narration, live, without the kernel's and the firmware's own output (and
# without the guest's bold headings when this is not a terminal).
strip='s/\x1b\[[0-9;=]*[HJh]//g'
[ -t 1 ] || strip='s/\x1b\[[0-9;=]*[A-Za-z]//g'
tail -n +1 -f "$log" --pid=$qpid 2>/dev/null | tr -d '\r' | sed -u -e "$strip" |
	grep --line-buffered -vE '^\[ *[0-9]+\.[0-9]+\]|^holder: |^=== |^Powering off' |
	grep --line-buffered -v '^VH-RESULT' || true
wait $qpid
st=$?
echo
if tr -d '\r' <"$log" | grep -qx 'VH-RESULT PASS demo-guest'; then
	echo "demo: done in $(vh_elapsed "$t0" "$(vh_now)") s"
	rm -f "$log" "$log.qemu"
	exit 0
fi
[ $st -eq 124 ] && echo "demo: the guest timed out"
echo "demo: something went wrong; the guest's console is in ${log#"$REPO"/}"
exit 1
