# The release build (the guests' default, no VH_FAULTS) has no fault switch: with
# VFIO_HANDOFF_FAULT set as the crash and stuck-module scenarios set it, the hook and its
# engine are not killed, do not fail the module removal, and hand over and back as usual.
vh_wait_host
# A bound for a hung call only (the crash scenarios use 3 s to end quickly): a busy host
# under emulation took over 3 s to load vfio-pci.
vh_optin vm1 "timeout = 30"
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU
vh_snapshot $VH_WORK/before

for fault in kill-before:1 kill-after:1 module-busy:snd_hda_intel; do
	vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml VFIO_HANDOFF_FAULT=$fault
	vh_expect_stdout_empty prepare
	vh_expect_rc0 "prepare with VFIO_HANDOFF_FAULT=$fault" ||
		vh_die "prepare failed: $(tail -1 $VH_WORK/prepare.err)"
	vh_assert_on_vfio
	vh_hook release vm1 release end $VH_WORK/vm1.xml VFIO_HANDOFF_FAULT=$fault
	vh_expect_rc0 "release with VFIO_HANDOFF_FAULT=$fault"
	vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
	vh_snapshot $VH_WORK/after
	vh_same $VH_WORK/before $VH_WORK/after "round trip with VFIO_HANDOFF_FAULT=$fault"
	vh_expect_nothing_held
done
