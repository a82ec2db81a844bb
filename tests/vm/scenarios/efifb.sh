# Boot framebuffer path under UEFI: no native GPU driver (bochs blacklisted), efifb drives the
# console on the VGA. Prepare unbinds fbcon and efi-framebuffer.0 and binds the group to
# vfio-pci; binding a VGA device makes vfio-pci remove the firmware framebuffer for good, so
# release gives every PCI function and module back and says the console did not return.
# vm-firmware: ovmf
# vm-append: modprobe.blacklist=bochs
vh_find_gpu
efifb_ready() {
	vh_fbcon_bound && [ -e /sys/bus/platform/devices/efi-framebuffer.0/driver ] &&
		[ "$(vh_driver ${VH_GPU%.*}.1)" = snd_hda_intel ] && [ -e /proc/asound/card0/codec#0 ] &&
		[ "$(vh_driver ${VH_GPU%.*}.2)" = xhci_hcd ]
}
vh_wait 30 efifb_ready || vh_die "efifb did not come up as the console"
vh_check "the VGA has no driver" [ "$(vh_driver $VH_GPU)" = none ]
vh_snapshot $VH_WORK/before
vh_show $VH_WORK/before
vh_optin vm1
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU

export VFIO_HANDOFF_VERBOSE=1
vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml
vh_expect_rc0 "prepare begin" || vh_die "prepare failed: $(tail -1 $VH_WORK/prepare.err)"
grep -q 'unbind-fb efi-framebuffer.0' $VH_WORK/prepare.err ||
	vh_fail "prepare did not unbind efi-framebuffer.0"
vh_assert_on_vfio
vh_fbcon_bound && vh_fail "fbcon is still bound"

vh_hook release vm1 release end $VH_WORK/vm1.xml
vh_expect_rc0 "release end"
ready() {
	[ "$(vh_driver ${VH_GPU%.*}.1)" = snd_hda_intel ] && [ -e /proc/asound/card0/codec#0 ] &&
		[ "$(vh_driver ${VH_GPU%.*}.2)" = xhci_hcd ]
}
vh_wait 20 ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_snapshot $VH_WORK/after
# What cannot come back: the firmware framebuffer, its fb0 and the console on it.
grep -vE '^(vtcon|platform efi-framebuffer|graphics fb0|fb 0 EFI)' $VH_WORK/before >$VH_WORK/b
grep -vE '^(vtcon|platform efi-framebuffer|graphics fb0|fb 0 EFI)' $VH_WORK/after >$VH_WORK/a
vh_same $VH_WORK/b $VH_WORK/a "release (all but the firmware framebuffer)"
if [ -e /sys/bus/platform/devices/efi-framebuffer.0 ]; then
	vh_info "efi-framebuffer.0 came back: $(vh_show $VH_WORK/after | grep -E 'platform|vtcon')"
else
	grep -q 'no frame buffer console' $VH_WORK/release.err ||
		vh_fail "release did not say that the console did not come back"
fi
vh_expect_nothing_held
