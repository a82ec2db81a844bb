# A driver module that cannot be removed: the DRM card's file is kept alive in flight in a
# unix socket (SCM_RIGHTS), so bochs keeps a reference while no process shows the node in its
# fd table or maps. Prepare fails on the module and everything done so far is rolled back.
# vm-build: faults
vh_wait_host
vh_optin vm1 "timeout = 2"
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU
ref0=$(cat /sys/module/bochs/refcnt)
$VH_BIN/holder -s -r /tmp/stash.ready /dev/dri/card0 &
hpid=$!
vh_wait 10 [ -e /tmp/stash.ready ] || vh_die "the stash did not start"
ref1=$(cat /sys/module/bochs/refcnt)
vh_info "bochs refcnt $ref0 -> $ref1 with the card in flight"
[ "$ref1" -gt "$ref0" ] || vh_die "the in-flight file does not pin bochs"
[ -z "$(vh_holders /dev/dri/card0)" ] || vh_die "a process shows /dev/dri/card0 in its fds"
vh_snapshot $VH_WORK/before

export VFIO_HANDOFF_VERBOSE=1
vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml
vh_expect_stdout_empty prepare
[ "$VH_RC" != 0 ] || vh_fail "prepare succeeded although bochs cannot be removed"
grep -q bochs $VH_WORK/prepare.err || vh_fail "the reason does not name the module bochs"
vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_snapshot $VH_WORK/after
vh_same $VH_WORK/before $VH_WORK/after "rolled-back prepare"
vh_expect_nothing_held

# The same through the engine's fault injection, on the HDA driver, non-verbose: one line.
unset VFIO_HANDOFF_VERBOSE
kill $hpid
# Start the second half clean even when the first left something behind (already a failure).
if [ -e /run/vfio-handoff/vm1.journal ]; then
	vh_run recover $VH_CLI recover vm1
	vh_repair
	vh_wait 20 vh_host_ready
fi
unpinned() { [ "$(cat /sys/module/bochs/refcnt)" = "$ref0" ]; }
vh_wait 10 unpinned || vh_fail "bochs still pinned"
vh_snapshot $VH_WORK/before2
vh_hook prepare2 vm1 prepare begin $VH_WORK/vm1.xml VFIO_HANDOFF_FAULT=module-busy:snd_hda_intel
if vh_expect_one_line_failure prepare2; then
	grep -q snd_hda_intel $VH_WORK/prepare2.err ||
		vh_fail "the reason does not name snd_hda_intel"
fi
vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_snapshot $VH_WORK/after2
vh_same $VH_WORK/before2 $VH_WORK/after2 "prepare failed by module-busy:snd_hda_intel"
vh_expect_nothing_held
