# A process outside any display manager keeps the DRM card open: prepare fails with one line
# that names its pid and command, and the host is exactly as before.
vh_wait_host
vh_optin vm1 "timeout = 2"
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU
$VH_BIN/holder /dev/dri/card0 &
hpid=$!
card_held() { [ -n "$(vh_holders /dev/dri/card0)" ]; }
vh_wait 10 card_held || vh_die "the holder did not open the card"
comm=$(cat /proc/$hpid/comm)
vh_info "holder: pid $hpid ($comm)"
vh_snapshot $VH_WORK/before

vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml
vh_expect_stdout_empty prepare
if vh_expect_one_line_failure prepare; then
	grep -q "$hpid" $VH_WORK/prepare.err || vh_fail "the message does not name pid $hpid"
	grep -q "$comm" $VH_WORK/prepare.err || vh_fail "the message does not name '$comm'"
fi
kill -0 $hpid 2>/dev/null || vh_fail "the holder was killed (holders = wait is the default)"
vh_snapshot $VH_WORK/after
vh_same $VH_WORK/before $VH_WORK/after "failed prepare"
# libvirt calls release end after a failed prepare: it must leave everything as it is.
vh_hook release vm1 release end $VH_WORK/vm1.xml
vh_expect_rc0 "release end after a failed prepare"
vh_snapshot $VH_WORK/after-release
vh_same $VH_WORK/before $VH_WORK/after-release "release after a failed prepare"
vh_expect_nothing_held
kill $hpid
