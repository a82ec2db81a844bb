#!/bin/bash
# The real-libvirt scenarios, run inside the guest: install.sh as a user runs it, libvirtd
# from the host's userland, virsh start/destroy of tiny TCG domains given the emulated GPU.
set -u
. /vh/vm/guest/lib.sh # vh_wait_host (VH_GPU, VH_FUNCS, VH_GROUP), vh_optin, vh_wait
SRC=/vh/src
OUT=/vh/out
W=/tmp/vl
SYSLOG=/var/log/messages
mkdir -p $W $VH_WORK
export LIBVIRT_DEFAULT_URI=qemu:///system

# ---- results: "ok N - ..." / "not ok N - ..." lines, read by the host ---------------------
n=0 nfail=0
TIMES=()
vh_ok() { n=$((n + 1)); echo "ok $n - $*"; }
vh_fail() { n=$((n + 1)); nfail=$((nfail + 1)); echo "not ok $n - $*"; }
vh_die() { vh_fail "$@"; exit 1; }
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then vh_ok "$what"; else vh_fail "$what"; fi
}
info() { echo "  $*"; }
section() { echo "--- $* (uptime $(cut -d' ' -f1 /proc/uptime) s)"; }
# Under TCG every exec costs; the helpers here use shell builtins where they can.
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
secs() { printf '%d.%02d s' $(($1 / 1000)) $(($1 % 1000 / 10)); }

finish() {
	local rc=$?
	[ $rc -ne 0 ] && [ $nfail -eq 0 ] && vh_fail "the scenarios stopped early (status $rc)"
	echo "--- timings"
	local t
	for t in "${TIMES[@]}"; do echo "  timing: $t"; done
	# Everything worth reading after a failure; the host keeps it only then.
	{
		cp $SYSLOG $OUT/syslog 2>/dev/null
		cp /var/log/libvirt/*.log /var/log/libvirt/*.out $OUT/ 2>/dev/null
		mkdir -p $OUT/qemu && cp /var/log/libvirt/qemu/*.log $OUT/qemu/ 2>/dev/null
		cp -r /run/vfio-handoff $OUT/run-vfio-handoff 2>/dev/null
		dmesg >$OUT/dmesg
		cp $W/* $OUT/ 2>/dev/null
	} 2>/dev/null
	echo "guest: $((n - nfail)) ok, $nfail not ok"
}
trap finish EXIT

# run TAG COMMAND...: RC, MS; stdout/stderr in $W/TAG.out/.err.
run() {
	local tag=$1 t
	shift
	t=$(ms)
	"$@" >$W/$tag.out 2>$W/$tag.err
	RC=$?
	MS=$(($(ms) - t))
}
show() { sed "s/^/    $1/" "$2"; }

# The hook's own log lines (syslog) since the mark, with its per-step times.
mark() { MARK=$(wc -l <$SYSLOG 2>/dev/null || echo 0); }
hook_log() { tail -n +$((MARK + 1)) $SYSLOG 2>/dev/null | grep 'vfio-handoff\[' | sed 's/^.*vfio-handoff\[[0-9]*\]: //'; }
show_hook_log() {
	hook_log >$W/hooklog
	if [ -s $W/hooklog ]; then show "hook: " $W/hooklog; else info "hook: (no log lines)"; fi
}

# A libvirtd that died mid-run fails the tier at once, with its log's last lines.
daemon_alive() {
	kill -0 "$LIBVIRTD_PID" 2>/dev/null ||
		vh_die "libvirtd has exited: $(log_tail /var/log/libvirt/libvirtd.log)"
}
vstart() { # vstart VM: virsh start; RC, MS; the hook's log shown
	daemon_alive
	mark
	run start-$1 timeout 180 virsh start "$1"
	info "virsh start $1: exit $RC in $(secs $MS)"
	[ $RC -ne 0 ] && show "virsh: " $W/start-$1.err
	show_hook_log
	TIMES+=("virsh start $1: $(secs $MS) (exit $RC$(hook_total))")
}
hook_total() { # the hook's own total, from its last log line of the call
	local l
	l=$(grep -oE 'on vfio-pci in [0-9]+ ms|release [a-z]+ in [0-9]+ ms' $W/hooklog | tail -1)
	[ -n "$l" ] && echo "; hook: $l"
}
vdestroy() {
	daemon_alive
	mark
	run destroy-$1 timeout 180 virsh destroy "$1"
	info "virsh destroy $1: exit $RC in $(secs $MS)"
	[ $RC -ne 0 ] && show "virsh: " $W/destroy-$1.err
	show_hook_log
	TIMES+=("virsh destroy $1: $(secs $MS) (exit $RC$(hook_total))")
}

# drv BUS DEVICE: the driver bound to the device, or "none".
drv() {
	local d
	for d in /sys/bus/$1/drivers/*/$2; do
		[ -e "$d" ] && { d=${d%/*}; echo "${d##*/}"; return; }
	done
	echo none
}
# The state a hand-off changes and a give-back restores, one fact a line (the same facts
# as tests/vm's snapshot, plus our journals), sorted.
snap() {
	local f d l m g
	{
		for f in $VH_FUNCS; do
			read -r l <$PCI/$f/driver_override
			for g in /sys/kernel/iommu_groups/*/devices/$f; do g=${g#/sys/kernel/iommu_groups/}; done
			echo "pci $f driver=$(drv pci $f) override=$l group=${g%%/*}"
		done
		for d in $PCI/$VH_GPU/drm/card*; do [ -e "$d" ] && echo "drm $VH_GPU ${d##*/}"; done
		for d in /sys/class/vtconsole/vtcon*; do
			read -r l <$d/name
			read -r m <$d/bind
			echo "vtcon ${d##*/} bind=$m name=$l"
		done
		for d in /sys/bus/platform/devices/*framebuffer*; do
			[ -e "$d" ] && echo "platform ${d##*/} driver=$(drv platform ${d##*/})"
		done
		for d in /sys/class/graphics/*; do [ -e "$d" ] && echo "graphics ${d##*/}"; done
		while read -r l; do echo "fb $l"; done </proc/fb
		while read -r m l; do
			case " $VH_MODULES_IGNORE " in *" $m "*) continue ;; esac
			echo "module $m"
		done </proc/modules
		for d in /dev/vfio/*; do [ -e "$d" ] && [ "${d##*/}" != vfio ] && echo "vfio ${d##*/}"; done
		for d in /run/vfio-handoff/*.journal; do [ -e "$d" ] && echo "journal ${d##*/}"; done
	} | LC_ALL=C sort >"$1"
}
# same BEFORE AFTER WHAT: a failure showing the differences when the snapshots differ.
same() {
	if [ "$(<"$1")" = "$(<"$2")" ]; then
		vh_ok "$3: state identical to before"
	else
		vh_fail "$3: state differs from before:"
		diff -u "$1" "$2" | tail -n +3 | sed 's/^/    /'
	fi
}
no_journal() {
	local j
	for j in /run/vfio-handoff/*.journal; do [ -e "$j" ] && return 1; done
	return 0
}
all_on() { # all_on DRIVER: every function of the GPU slot on DRIVER
	local f
	for f in $VH_FUNCS; do [ "$(drv pci $f)" = "$1" ] || return 1; done
}
drivers() { local f; for f in $VH_FUNCS; do printf '%s ' "$(drv pci $f)"; done; }
qemu_pid() { cat /run/libvirt/qemu/$1.pid 2>/dev/null; }
qemu_holds_group() { # qemu_holds_group VM: its QEMU has /dev/vfio/<group> open
	local p
	p=$(qemu_pid "$1") && [ -n "$p" ] &&
		ls -l /proc/$p/fd 2>/dev/null | grep -q " /dev/vfio/$VH_GROUP\$"
}
domstate() { virsh domstate "$1" 2>/dev/null | head -1; }

# dom_xml NAME MANAGED BDF...: a tiny TCG domain (no disk: it sits in its firmware) with the
# functions as PCI hostdevs.
dom_xml() {
	local name=$1 managed=$2 b d bus sl fn
	shift 2
	echo "<domain type='qemu'>"
	echo "  <name>$name</name>"
	echo "  <memory unit='MiB'>64</memory>"
	echo "  <vcpu>1</vcpu>"
	echo "  <os><type arch='x86_64' machine='pc'>hvm</type></os>"
	echo "  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
	echo "  <devices>"
	echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
	echo "    <controller type='usb' model='none'/>"
	echo "    <video><model type='none'/></video>"
	echo "    <memballoon model='none'/>"
	for b in "$@"; do
		IFS=':.' read -r d bus sl fn <<<"$b"
		echo "    <hostdev mode='subsystem' type='pci' managed='$managed'>"
		echo "      <source><address domain='0x$d' bus='0x$bus' slot='0x$sl' function='0x$fn'/></source>"
		echo "      <rom bar='off'/>"
		echo "    </hostdev>"
	done
	echo "  </devices>"
	echo "</domain>"
}
define() { # define NAME MANAGED BDF...
	dom_xml "$@" >$W/$1.xml
	virsh define $W/$1.xml >$W/define-$1.log 2>&1 || { show "" $W/define-$1.log; vh_die "virsh define $1"; }
}

# =========================================================================================
section "the emulated host"
vh_wait_host
info "GPU $VH_GPU, functions $VH_FUNCS, IOMMU group $VH_GROUP"
set -- $VH_FUNCS
[ $# = 3 ] || vh_die "the GPU slot has $# functions, expected 3"
VGA=${VH_GPU}
CARD=$(basename "$(ls -d /sys/bus/pci/devices/$VGA/drm/card* | head -1)")

# syslog for the hook's log lines (it logs to /dev/log).
busybox syslogd -O $SYSLOG || vh_die "cannot start syslogd"
for i in $(seq 50); do [ -S /dev/log ] && break; sleep 0.05; done

# =========================================================================================
section "install.sh in the guest, as a user runs it"
HOOK=/etc/libvirt/hooks/qemu
mkdir -p /etc/libvirt/hooks
printf '#!/bin/sh\n# the admin'"'"'s own hook\ncat >/dev/null\nexit 0\n' >$HOOK
chmod 0755 $HOOK
foreign=$(sha256sum <$HOOK)
cd $SRC || vh_die "no source tree"
run inst-refused ./install.sh
check "install.sh refuses a foreign $HOOK (exit 3)" [ $RC -eq 3 ]
show "stderr: " $W/inst-refused.err
check "... and leaves it intact, installing nothing" \
	eval '[ "$(sha256sum <$HOOK)" = "$foreign" ] && [ ! -e /usr/local/bin/vfio-handoff ]'
run inst-force ./install.sh --force
check "install.sh --force installs (exit 0)" [ $RC -eq 0 ]
check "... the hook is ours" cmp -s $HOOK $SRC/build/vfio-handoff-hook
check "... the foreign hook is kept in qemu.vfio-handoff-backup" \
	eval '[ "$(sha256sum <$HOOK.vfio-handoff-backup)" = "$foreign" ]'
run inst-uninstall ./install.sh --uninstall
check "install.sh --uninstall (exit 0) restores the foreign hook" \
	eval '[ $RC -eq 0 ] && [ "$(sha256sum <$HOOK)" = "$foreign" ] && [ ! -e $HOOK.vfio-handoff-backup ]'
check "... and removes the command" [ ! -e /usr/local/bin/vfio-handoff ]
rm -f $HOOK
run inst ./install.sh
TIMES+=("install.sh: $(secs $MS)")
check "install.sh with no hook in place (exit 0)" [ $RC -eq 0 ]
show "" $W/inst.out
check "... the hook is /etc/libvirt/hooks/qemu, mode 755" \
	eval 'cmp -s $HOOK $SRC/build/vfio-handoff-hook && [ "$(stat -c %a $HOOK)" = 755 ]'
check "... it says libvirt reads hooks at its start" grep -q 'daemon starts' $W/inst.out
run groups vfio-handoff groups
check "the installed vfio-handoff command runs from PATH and lists the GPU" \
	eval '[ $RC -eq 0 ] && grep -q "${VGA#0000:}" $W/groups.out'
cd /

# =========================================================================================
section "libvirtd"
# The accounts libvirt-daemon-system's postinst would create: libvirtd resolves its default
# QEMU user and group (libvirt-qemu, kvm) before it reads qemu.conf, and fails without
# them. Created here, in the guest's /etc overlay, whatever the host has installed.
account_group() { grep -q "^$1:" /etc/group || echo "$1:x:$2:" >>/etc/group; }
account_group kvm 64054
account_group libvirt 64055
account_group libvirt-qemu 64056
grep -q '^libvirt-qemu:' /etc/passwd ||
	echo 'libvirt-qemu:x:64055:64054:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>/etc/passwd
mkdir -p /etc/libvirt
printf '%s\n' 'user = "root"' 'group = "root"' 'cgroup_controllers = [ ]' 'namespaces = [ ]' \
	'security_driver = "none"' 'remember_owner = 0' >/etc/libvirt/qemu.conf
mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu /var/log/libvirt/qemu /run/libvirt
# The daemons' own logs (the clients keep theirs off these files).
LOGS="3:file:/var/log/libvirt"
# A log's last errors (its last lines when it has none), on one line, for a failure message.
log_tail() {
	local lines
	lines=$(grep -E ' error : ' "$1" 2>/dev/null | tail -n 3)
	[ -n "$lines" ] || lines=$(tail -n 3 "$1" 2>/dev/null)
	[ -n "$lines" ] || lines="(${1##*/} is empty)"
	sed 's/^[-0-9]* [0-9:.+]*: [0-9]*: //' <<<"$lines" | paste -sd'|' | sed 's/|/ | /g'
}
# wait_daemon NAME PID LOG SECONDS TEST...: polls TEST until it passes. Fails at once, with
# the log's last lines, when the daemon exits; at the deadline otherwise.
wait_daemon() {
	local name=$1 pid=$2 log=$3 secs=$4 t st i
	shift 4
	t=$(ms)
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			st=$?
			vh_die "$name exited (status $st) $(secs $(($(ms) - t))) after its start: $(log_tail "$log")"
		fi
		sleep 0.05
	done
	vh_die "$name is not answering after $secs s: $(log_tail "$log")"
}
# Both run in the foreground as our children, so a daemon that dies is seen at once.
LIBVIRT_LOG_OUTPUTS="$LOGS/virtlogd.log" virtlogd >/var/log/libvirt/virtlogd.out 2>&1 &
wait_daemon virtlogd $! /var/log/libvirt/virtlogd.log 30 test -S /run/libvirt/virtlogd-sock
t=$(ms)
LIBVIRT_LOG_OUTPUTS="$LOGS/libvirtd.log" libvirtd >/var/log/libvirt/libvirtd.out 2>&1 &
LIBVIRTD_PID=$!
wait_daemon libvirtd $LIBVIRTD_PID /var/log/libvirt/libvirtd.log 60 \
	eval 'virsh version >/dev/null 2>&1'
MS=$(($(ms) - t))
TIMES+=("libvirtd ready: $(secs $MS)")
info "libvirtd ready in $(secs $MS)"

snap $W/boot.state
info "host state:"
show "" $W/boot.state

# =========================================================================================
section "a VM that did not opt in, no hostdev: nothing on the host touched"
define plain yes
snap $W/plain.before
P0=$(wc -l <$SYSLOG)
vstart plain
check "virsh start plain" [ $RC -eq 0 ]
check "plain is running" [ "$(domstate plain)" = running ]
snap $W/plain.running
same $W/plain.before $W/plain.running "plain running"
vdestroy plain
check "virsh destroy plain" [ $RC -eq 0 ]
snap $W/plain.after
same $W/plain.before $W/plain.after "plain destroyed"
check "no /run/vfio-handoff journal for plain" [ ! -e /run/vfio-handoff/plain.journal ]
check "the hook logged nothing for plain (the fast path)" \
	eval '! tail -n +$((P0 + 1)) $SYSLOG | grep -q "vfio-handoff\["'

# =========================================================================================
section "opted in, the VGA function only, managed='yes'"
vh_optin gpu-a "display-manager = none"
define gpu-a yes $VGA
snap $W/a.before
vstart gpu-a
check "virsh start gpu-a" [ $RC -eq 0 ]
check "the whole group is on vfio-pci ($(drivers))" all_on vfio-pci
check "gpu-a is running" [ "$(domstate gpu-a)" = running ]
check "gpu-a's QEMU holds /dev/vfio/$VH_GROUP" qemu_holds_group gpu-a
check "the journal /run/vfio-handoff/gpu-a.journal exists" [ -e /run/vfio-handoff/gpu-a.journal ]
vdestroy gpu-a
check "virsh destroy gpu-a" [ $RC -eq 0 ]
# libvirt 10 and later pass the shut-off reason as release end's 4th argument, older ones
# "-"; the hook logs what it got.
LV_MAJOR=$(libvirtd --version | grep -oE '[0-9]+' | head -1)
if [ "${LV_MAJOR:-0}" -ge 10 ]; then reason=destroyed; else reason="none given"; fi
reason_logged() { hook_log | grep -qF "VM 'gpu-a': release end, shut-off reason: $reason"; }
check "the hook logged release end's shut-off reason: $reason (libvirt $LV_MAJOR)" reason_logged
vh_wait 10 no_journal
snap $W/a.after
same $W/a.before $W/a.after "gpu-a destroyed"
check "no journal left" no_journal

# =========================================================================================
section "opted in, all three functions, managed='no'"
vh_optin gpu-all "display-manager = none"
define gpu-all no $VH_FUNCS
snap $W/all.before
vstart gpu-all
check "virsh start gpu-all" [ $RC -eq 0 ]
check "the whole group is on vfio-pci" all_on vfio-pci
check "gpu-all is running" [ "$(domstate gpu-all)" = running ]
check "gpu-all's QEMU holds /dev/vfio/$VH_GROUP" qemu_holds_group gpu-all
vdestroy gpu-all
check "virsh destroy gpu-all" [ $RC -eq 0 ]
vh_wait 10 no_journal
snap $W/all.after
same $W/all.before $W/all.after "gpu-all destroyed"

# =========================================================================================
section "opted in, prepare fails: a process holds /dev/dri/$CARD"
vh_optin gpu-held "display-manager = none" "timeout = 2"
define gpu-held yes $VGA
sleep 600 3</dev/dri/$CARD &
holder=$!
vh_wait 5 test -e /proc/$holder/fd/3 || vh_fail "the holder did not open /dev/dri/$CARD"
snap $W/held.before
vstart gpu-held
check "virsh start gpu-held fails" [ $RC -ne 0 ]
check "its error carries our one line (once)" \
	eval '[ "$(grep -o "vfio-handoff: " $W/start-gpu-held.err | wc -l)" = 1 ]'
check "... naming the holder (pid $holder or 'sleep')" \
	eval 'grep "vfio-handoff: " $W/start-gpu-held.err | grep -qE "\\b$holder\\b|sleep"'
check "gpu-held is not running" [ "$(domstate gpu-held)" = "shut off" ]
snap $W/held.after
same $W/held.before $W/held.after "after the failed start (and libvirt's release end)"
check "no journal left" no_journal
kill $holder
wait $holder 2>/dev/null

# =========================================================================================
section "two opted-in VMs share the GPU"
vh_optin gpu-b "display-manager = none"
define gpu-b yes $VGA
snap $W/two.before
vstart gpu-a
check "virsh start gpu-a" [ $RC -eq 0 ]
vstart gpu-b
check "virsh start gpu-b fails while gpu-a runs" [ $RC -ne 0 ]
check "... its error is ours and names gpu-a" \
	eval 'grep "vfio-handoff: " $W/start-gpu-b.err | grep -q "gpu-a"'
check "gpu-a still runs, holding /dev/vfio/$VH_GROUP" \
	eval '[ "$(domstate gpu-a)" = running ] && qemu_holds_group gpu-a'
check "gpu-b's failed start (and its release end) left gpu-a's devices on vfio-pci" all_on vfio-pci
check "gpu-a's journal is intact, gpu-b has none" \
	eval '[ -e /run/vfio-handoff/gpu-a.journal ] && [ ! -e /run/vfio-handoff/gpu-b.journal ]'
vdestroy gpu-a
check "virsh destroy gpu-a" [ $RC -eq 0 ]
vstart gpu-b
check "virsh start gpu-b succeeds once gpu-a is off" [ $RC -eq 0 ]
check "gpu-b's QEMU holds /dev/vfio/$VH_GROUP" qemu_holds_group gpu-b
vdestroy gpu-b
check "virsh destroy gpu-b" [ $RC -eq 0 ]
vh_wait 10 no_journal
snap $W/two.after
same $W/two.before $W/two.after "both destroyed"
same $W/boot.state $W/two.after "after every scenario, compared with boot"

# A VM with an nvme disk: the emulated host's NVMe controller handed over and back.
. $SRC/tests/libvirt/guest/nvme.sh

# =========================================================================================
section "install.sh with libvirtd running"
cd $SRC
run reinst ./install.sh --restart
check "re-install --restart (exit 0)" [ $RC -eq 0 ]
show "" $W/reinst.out
check "... libvirtd is told (no service manager here: SIGHUP)" grep -q 'SIGHUP to libvirtd' $W/reinst.out
sleep 1
check "... libvirtd still answers" eval 'virsh version >/dev/null 2>&1'
run uninst ./install.sh --uninstall --no-restart
check "--uninstall --no-restart (exit 0), saying the daemon must restart" \
	eval '[ $RC -eq 0 ] && grep -q restart $W/uninst.out'
check "... the hook and the command are gone" eval '[ ! -e $HOOK ] && [ ! -e /usr/local/bin/vfio-handoff ]'
check "... the VMs' opt-in files stay" [ -f /etc/vfio-handoff/vm.d/gpu-a.conf ]
cd /

# The Debian package: dpkg -i, the same virsh scenarios, remove and purge.
. $SRC/tests/libvirt/guest/deb.sh
exit 0
