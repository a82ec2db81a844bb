# Round trip through the hook protocol: an empty opt-in file and a domain XML that lists only
# the VGA function; prepare puts the whole group on vfio-pci, release restores every fact.
vh_wait_host
vh_snapshot $VH_WORK/before
vh_optin vm1
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU

# A VM that did not opt in: exit 0, nothing touched.
vh_xml other $VH_WORK/other.xml $VH_GPU
vh_hook other-prepare other prepare begin $VH_WORK/other.xml
vh_expect_rc0 "prepare of a VM that did not opt in"
vh_snapshot $VH_WORK/other
vh_same $VH_WORK/before $VH_WORK/other "a VM that did not opt in"

export VFIO_HANDOFF_VERBOSE=1
vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml
vh_expect_stdout_empty prepare
vh_expect_rc0 "prepare begin" || vh_die "prepare failed: $(tail -1 $VH_WORK/prepare.err)"
vh_assert_on_vfio
vh_fbcon_bound && vh_fail "fbcon is still bound to the GPU"
vh_snapshot $VH_WORK/during
vh_info "state while vm1 holds the group:"
vh_show $VH_WORK/during
vh_run status $VH_CLI status
grep -q vm1 $VH_WORK/status.out || vh_fail "status does not name vm1"

vh_hook release vm1 release end $VH_WORK/vm1.xml
vh_expect_stdout_empty release
vh_expect_rc0 "release end"
vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_snapshot $VH_WORK/after
vh_same $VH_WORK/before $VH_WORK/after "release"
vh_expect_nothing_held
