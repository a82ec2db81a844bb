# A VM still holds the VGA function's VFIO device when release runs: vfio-pci's remove()
# blocks in the kernel until it lets go. The hook returns within its timeout and a margin,
# the lock is free, status shows the wedged device and who holds it, and recover gives
# everything back once the holder has exited.
vh_wait_host
vh_optin vm1 "timeout = 3"
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU
vh_snapshot $VH_WORK/before
vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml
vh_expect_rc0 "prepare begin" || vh_die "prepare failed: $(tail -1 $VH_WORK/prepare.err)"
vh_assert_on_vfio

$VH_BIN/vfio-hold -r /tmp/hold.ready $VH_GROUP $VH_GPU &
hpid=$!
vh_wait 10 [ -e /tmp/hold.ready ] || vh_die "the holder did not open $VH_GPU"

vh_hook release vm1 release end $VH_WORK/vm1.xml
vh_expect_stdout_empty release
vh_expect_rc0 "release end"
# One timeout (3 s) for the stuck call, plus a margin for everything else under TCG.
[ "$VH_MS" -lt 15000 ] || vh_fail "release end took $VH_MS ms with a wedged device"
flock -n /run/vfio-handoff/lock true || vh_fail "the lock is still held after release"
[ -e /run/vfio-handoff/vm1.journal ] || vh_fail "no journal kept for the wedged device"
vh_run status $VH_CLI status
vh_show $VH_WORK/status.out
grep "$VH_GPU" $VH_WORK/status.out | grep -q WEDGED || vh_fail "status does not show $VH_GPU wedged"
grep -q "process $hpid" $VH_WORK/status.out || vh_fail "status does not name the holder $hpid"

# Still held: recover is bounded too and keeps the journal.
vh_run recover-held $VH_CLI recover vm1
[ "$VH_MS" -lt 15000 ] || vh_fail "recover took $VH_MS ms while the device is held"
[ -e /run/vfio-handoff/vm1.journal ] || vh_fail "recover dropped the journal of a held device"

kill $hpid
wait $hpid
# The kernel finishes the pending remove by itself once the device is closed.
released() { [ "$(vh_driver $VH_GPU)" != vfio-pci ]; }
vh_wait 20 released || vh_fail "$VH_GPU is still on vfio-pci after the holder exited"
vh_run recover $VH_CLI recover vm1
vh_expect_rc0 "recover after the holder exited"
vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_snapshot $VH_WORK/after
vh_same $VH_WORK/before $VH_WORK/after "recover after a wedged release"
vh_expect_nothing_held
