# The hook protocol's gaps on the real kernel: the opt-in file is removed while the VM runs
# and libvirt's stdin never closes, yet release end gives everything back (it follows the
# journal, and reads stdin with a deadline); a VM named like an option is just a VM.
vh_wait_host
vh_snapshot $VH_WORK/before
vh_optin vm1
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU

# libvirt's four positions: a VM named --root that did not opt in is left alone, rc 0.
vh_xml --root $VH_WORK/root.xml $VH_GPU
vh_hook named-root --root prepare begin $VH_WORK/root.xml
vh_expect_rc0 "prepare of a VM named --root"
vh_snapshot $VH_WORK/named-root
vh_same $VH_WORK/before $VH_WORK/named-root "a VM named --root"

export VFIO_HANDOFF_VERBOSE=1
vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml
vh_expect_rc0 "prepare begin" || vh_die "prepare failed: $(tail -1 $VH_WORK/prepare.err)"
vh_assert_on_vfio

# The opt-in file goes away while vm1 runs.
rm -f /etc/vfio-handoff/vm.d/vm1.conf

# stdin: a FIFO whose writer never writes nor closes (the writer is ended below).
mkfifo $VH_WORK/stdin
sleep 1000 >$VH_WORK/stdin &
writer=$!
vh_run release $VH_HOOK vm1 release end - <$VH_WORK/stdin
kill $writer 2>/dev/null
vh_expect_stdout_empty release
vh_expect_rc0 "release end"
[ "$VH_MS" -lt 30000 ] || vh_fail "release end took $VH_MS ms with a stdin that never closed"
grep -q "stdin still open" $VH_WORK/release.err || vh_fail "release did not say stdin stayed open"
vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_snapshot $VH_WORK/after
vh_same $VH_WORK/before $VH_WORK/after "release without the opt-in file"
vh_expect_nothing_held
