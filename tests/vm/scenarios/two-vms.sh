# Two opted-in VMs that list the same GPU prepared at the same moment: exactly one wins, the
# other fails naming the owner; the loser's release touches nothing; the winner's restores all.
vh_wait_host
vh_snapshot $VH_WORK/before
vh_optin vm1
vh_optin vm2
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU
vh_xml vm2 $VH_WORK/vm2.xml $VH_GPU
for vm in vm1 vm2; do
	($VH_HOOK $vm prepare begin - <$VH_WORK/$vm.xml >$VH_WORK/$vm.out 2>$VH_WORK/$vm.err
	echo $? >$VH_WORK/$vm.rc) &
done
wait
for vm in vm1 vm2; do
	vh_info "$vm: exit $(cat $VH_WORK/$vm.rc) $(cat $VH_WORK/$vm.err)"
done
win=
lose=
if [ "$(cat $VH_WORK/vm1.rc)" = 0 ] && [ "$(cat $VH_WORK/vm2.rc)" != 0 ]; then
	win=vm1 lose=vm2
elif [ "$(cat $VH_WORK/vm2.rc)" = 0 ] && [ "$(cat $VH_WORK/vm1.rc)" != 0 ]; then
	win=vm2 lose=vm1
else
	vh_die "not exactly one prepare succeeded"
fi
vh_ok "$win won"
VH_RC=$(cat $VH_WORK/$lose.rc)
vh_expect_one_line_failure $lose && { grep -q "$win" $VH_WORK/$lose.err ||
	vh_fail "$lose's reason does not name the owner $win"; }
vh_assert_on_vfio
vh_snapshot $VH_WORK/held

vh_hook release-$lose $lose release end $VH_WORK/$lose.xml
vh_expect_rc0 "release end of $lose"
vh_snapshot $VH_WORK/held2
vh_same $VH_WORK/held $VH_WORK/held2 "$lose's release while $win holds the group"

vh_hook release-$win $win release end $VH_WORK/$win.xml
vh_expect_rc0 "release end of $win"
vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_snapshot $VH_WORK/after
vh_same $VH_WORK/before $VH_WORK/after "release of $win"
vh_expect_nothing_held
