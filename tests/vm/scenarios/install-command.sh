# modprobe.d says "install vfio_pci /bin/sleep 1000": libkmod would run that line through
# system() with no deadline and hang libvirtd. Prepare refuses it with one line naming the
# module and the command, at once, runs no sleep, and the host is exactly as before.
vh_wait_host
[ -d /sys/module/vfio_pci ] && vh_die "vfio_pci is already loaded; the scenario needs it absent"
mkdir -p /etc/modprobe.d
echo "install vfio_pci /bin/sleep 1000" >/etc/modprobe.d/vh-hang.conf
vh_optin vm1 "timeout = 3"
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU
vh_snapshot $VH_WORK/before

vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml
vh_expect_stdout_empty prepare
if vh_expect_one_line_failure prepare; then
	grep -q vfio_pci $VH_WORK/prepare.err || vh_fail "the reason does not name vfio_pci"
	grep -q "/bin/sleep 1000" $VH_WORK/prepare.err || vh_fail "the reason does not name the command"
fi
[ "$VH_MS" -lt 30000 ] || vh_fail "prepare took $VH_MS ms"
for p in /proc/[0-9]*; do
	[ "$(cat $p/comm 2>/dev/null)" = sleep ] && vh_fail "a sleep runs: pid ${p#/proc/}"
done
[ -d /sys/module/vfio_pci ] && vh_fail "vfio_pci was loaded despite its install command"
vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_snapshot $VH_WORK/after
vh_same $VH_WORK/before $VH_WORK/after "refused prepare"
vh_expect_nothing_held
rm -f /etc/modprobe.d/vh-hang.conf
