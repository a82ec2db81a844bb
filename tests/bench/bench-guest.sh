# The guest side of make bench (busybox sh, sourced by tests/vm/guest/run-scenario with
# tests/vm/guest/lib.sh loaded): the single-GPU UEFI desktop of tests/vm/scenarios/single-gpu.sh
# (systemd, a display manager holding the card, fbcon, bochs + snd_hda_intel + xhci_pci in one
# IOMMU group). Each round hands the group to vfio-pci and back with vfio-handoff's hook, the
# floor program and the peer-style bash hook, in a rotating order, every call under
# /usr/bin/time -v; then the hook's fast path against /bin/true and the command's memory.
# Prints "BENCH WHO OP ROUND WALL_S USER_S SYS_S MAXRSS_KB" lines (and INFO, FASTPATH, HWM)
# for tests/bench/run.sh, which boots this guest with OVMF and systemd.
VB=/vh/build/bench
BIN=/run/vh-bench
ROUNDS=$(sed -n 's/.*vh\.rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
ROUNDS=${ROUNDS:-10}
CALLS=$(sed -n 's/.*vh\.calls=\([0-9]*\).*/\1/p' /proc/cmdline)
CALLS=${CALLS:-3}
SLEEP_PREPARE=$(sed -n 's/.*vh\.peer_sleep=\([0-9.]*\),.*/\1/p' /proc/cmdline)
SLEEP_RELEASE=$(sed -n 's/.*vh\.peer_sleep=[0-9.]*,\([0-9.]*\).*/\1/p' /proc/cmdline)

echo "INFO kernel $(uname -r)"
echo "INFO rounds $ROUNDS"
echo "INFO peer_sleep ${SLEEP_PREPARE:-2} in prepare, ${SLEEP_RELEASE:-2} in release"
vh_wait_host
vh_wait 20 [ -e /run/fake-dm.ready ] || vh_die "the display manager did not start"
[ -x /usr/bin/time ] || vh_die "/usr/bin/time is missing (package time)"

# The programs as installed, on tmpfs (the build share is uncached 9p): the hook with its
# engine beside it, the command, the floor, the peer hook with its kvm.conf.
mkdir -p $BIN/hooks/vfio-handoff $BIN/peer
cp $VH/build/vfio-handoff-hook $BIN/hooks/qemu
cp $VH/build/vfio-handoff-hook-engine $BIN/hooks/vfio-handoff/hook-engine
cp $VH/build/vfio-handoff $VB/floor $VB/hwm.so /bin/true $BIN/
cp $VB/peer-hook.sh $BIN/peer/qemu
WHO="vfio-handoff floor peer"
if [ -d $VB/variant ]; then
	mkdir -p $BIN/variant/vfio-handoff
	cp $VB/variant/vfio-handoff-hook $BIN/variant/qemu
	cp $VB/variant/vfio-handoff-hook-engine $BIN/variant/vfio-handoff/hook-engine
	chmod 0755 $BIN/variant/qemu $BIN/variant/vfio-handoff/hook-engine
	WHO="vfio-handoff floor peer variant"
fi
chmod 0755 $BIN/hooks/qemu $BIN/hooks/vfio-handoff/hook-engine $BIN/vfio-handoff $BIN/floor \
	$BIN/peer/qemu

# A long timeout: on a busy machine one wait can pass the default 10 s, and release then
# keeps the step for recover; a timeout changes nothing while no wait reaches it.
vh_optin vm1 "host-display = auto" "timeout = 60"
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU
vh_xml other $VH_WORK/other.xml $VH_GPU

# What the floor is told instead of discovering it: the unit, the frame buffer console, bound
# platform framebuffers, the functions' driver modules (in function order, as vfio-handoff
# plans them) and where their .ko files are. The drivers are kept for the checks below.
vtcon=$(vh_fbcon) || vh_die "no frame buffer console"
FLOOR_ARGS="--unit display-manager.service --vtcon ${vtcon##*vtcon}"
for d in /sys/bus/platform/devices/*framebuffer*; do
	[ -e $d/driver ] && FLOOR_ARGS="$FLOOR_ARGS --fb ${d##*/}=$(basename "$(readlink $d/driver)")"
done
ko() { modprobe --show-depends "$1" | tail -1 | cut -d' ' -f2; }
PEER_MODULES= DRIVERS=
for f in $VH_FUNCS; do
	m=$(basename "$(readlink $PCI/$f/driver/module)")
	DRIVERS="$DRIVERS $f=$(vh_driver $f)"
	FLOOR_ARGS="$FLOOR_ARGS --module $m=$(ko $m) --dev $f"
	# The guides' fixed list: the GPU's driver and the audio driver (the USB controller is
	# only detached: removing xhci_pci would take every USB port of the host).
	case $m in xhci_pci) ;; *) PEER_MODULES="$PEER_MODULES $m" ;; esac
done
FLOOR_ARGS="$FLOOR_ARGS --vfio $(ko vfio-pci):disable_vga=1"
case $FLOOR_ARGS in *=\ * | *" :"*) vh_die "cannot find a module's file: $FLOOR_ARGS" ;; esac
{
	echo "PEER_DEVS=\"$VH_FUNCS\""
	echo "PEER_MODULES=\"${PEER_MODULES# }\""
	echo "PEER_SLEEP_PREPARE=${SLEEP_PREPARE:-2}"
	echo "PEER_SLEEP_RELEASE=${SLEEP_RELEASE:-2}"
} >$BIN/peer/kvm.conf
vh_info "floor: $FLOOR_ARGS"
vh_info "peer kvm.conf: $(tr '\n' ' ' <$BIN/peer/kvm.conf)"

# One timed call: "BENCH WHO OP ROUND WALL USER SYS MAXRSS" from /usr/bin/time -v; the
# call's own output in $VH_WORK/WHO-OP.err. With HWM=1 the program also reports its own
# peak (hwm.so), into $VH_WORK/hwm.
timed() {
	local who=$1 op=$2 round=$3 in=$4 st
	shift 4
	if [ "${HWM:-0}" = 1 ]; then
		echo "HWM-CALL $who $op" >>$VH_WORK/hwm
		LD_PRELOAD=$BIN/hwm.so VH_HWM_OUT=$VH_WORK/hwm \
			/usr/bin/time -v -o $VH_WORK/time.out "$@" <$in >/dev/null 2>$VH_WORK/$who-$op.err
	else
		/usr/bin/time -v -o $VH_WORK/time.out "$@" <$in >/dev/null 2>$VH_WORK/$who-$op.err
	fi
	st=$?
	awk -v w=$who -v o=$op -v r=$round '
		/User time \(seconds\)/ { u = $NF }
		/System time \(seconds\)/ { s = $NF }
		/Elapsed \(wall clock\)/ {
			n = split($NF, t, ":"); e = 0
			for (i = 1; i <= n; i++) e = e * 60 + t[i]
		}
		/Maximum resident set size/ { m = $NF }
		END { printf "BENCH %s %s %s %.3f %.2f %.2f %d\n", w, o, r, e, u, s, m }
	' $VH_WORK/time.out
	[ $st = 0 ] || vh_fail "$who $op (round $round) exited $st: $(tail -1 $VH_WORK/$who-$op.err)"
}

call() {
	local who=$1 op=$2 round=$3
	case $who/$op in
	vfio-handoff/prepare) timed $who $op $round $VH_WORK/vm1.xml $BIN/hooks/qemu vm1 prepare begin - ;;
	vfio-handoff/release) timed $who $op $round $VH_WORK/vm1.xml $BIN/hooks/qemu vm1 release end - ;;
	variant/prepare) timed $who $op $round $VH_WORK/vm1.xml $BIN/variant/qemu vm1 prepare begin - ;;
	variant/release) timed $who $op $round $VH_WORK/vm1.xml $BIN/variant/qemu vm1 release end - ;;
	floor/*) timed $who $op $round /dev/null $BIN/floor $FLOOR_ARGS $op ;;
	peer/prepare) timed $who $op $round $VH_WORK/vm1.xml $BIN/peer/qemu vm1 prepare begin - ;;
	peer/release) timed $who $op $round $VH_WORK/vm1.xml $BIN/peer/qemu vm1 release end - ;;
	esac
}

# The checks between calls use shell builtins only: under emulation every fork costs.
on_vfio() {
	local f
	for f in $VH_FUNCS; do [ -e /sys/bus/pci/drivers/vfio-pci/$f ] || return 1; done
	[ -c /dev/vfio/$VH_GROUP ]
}
host_back() {
	local fd b
	for fd in $DRIVERS; do [ -e /sys/bus/pci/drivers/${fd#*=}/${fd%%=*} ] || return 1; done
	[ -e /proc/asound/card0/codec#0 ] && [ -e /run/fake-dm.ready ] && read -r b <$vtcon/bind &&
		[ "$b" = 1 ]
}

# One hand-off and give-back; between them (not timed) the result is checked, and after the
# give-back the host is waited for until it is whole again, vfio-pci loaded as vfio-handoff
# leaves it (the peer unloads it; loading it again is not counted against anyone).
roundtrip() {
	local who=$1 round=$2
	call $who prepare $round
	vh_wait 20 on_vfio || vh_fail "$who prepare (round $round): not on vfio-pci: $(vh_drivers)"
	[ -e /run/fake-dm.ready ] && vh_fail "$who prepare (round $round): the display manager runs"
	call $who release $round
	vh_wait 30 host_back ||
		vh_die "$who release (round $round): the host did not come back: $(vh_drivers)"
	if [ -e /run/vfio-handoff/vm1.journal ]; then
		# Release gives up on what it could not undo within the timeout and keeps it in
		# the journal (for recover): say what, then stop, since the next round would
		# start from another state.
		sed 's/^/    journal: /' /run/vfio-handoff/vm1.journal
		sed 's/^/    stderr: /' $VH_WORK/$who-release.err
		journalctl -q --no-pager -t vfio-handoff -n 20 2>/dev/null | sed 's/^/    log: /'
		vh_die "$who release (round $round) was incomplete: its journal was left behind"
	fi
	[ -d /sys/module/vfio_pci ] || modprobe vfio-pci disable_vga=1
	vh_wait 10 [ -d /sys/module/vfio_pci ] || vh_die "vfio-pci did not load"
}

# Round 0 warms every program and library into the page cache and loads vfio-pci; it is not
# counted, so vfio-handoff runs there with its step log (where its time goes) and reports its
# programs' own peak memory (hwm.so). The peer hook only has bash warmed there.
r=0
while [ $r -le $ROUNDS ]; do
	# The order rotates from round to round, so no program always follows the same one.
	set -- $WHO
	i=$((r % $#))
	while [ $i -gt 0 ]; do
		set -- "$@" "$1"
		shift
		i=$((i - 1))
	done
	order="$*"
	for who in $order; do
		if [ $r = 0 ] && [ $who = peer ]; then
			# The peer's round trip is its fixed sleeps and the programs the others
			# warm (systemctl, modprobe): only bash is its own. About 15 s saved.
			bash -c : || vh_die "bash is missing"
		elif [ $r = 0 ] && [ $who = vfio-handoff ]; then
			HWM=1
			export VFIO_HANDOFF_VERBOSE=1
			roundtrip $who $r
			unset VFIO_HANDOFF_VERBOSE
			grep -h 'vfio-handoff:' $VH_WORK/$who-prepare.err $VH_WORK/$who-release.err |
				sed 's/^/  step log: /'
		else
			HWM=0
			roundtrip $who $r
		fi
	done
	vh_info "round $r done ($(cut -d' ' -f1 /proc/uptime) s)"
	r=$((r + 1))
done
HWM=0

# vh.profile=1 (VH_BENCH_PROFILE=1): the system calls of one more round trip of each, by
# strace (-f: with systemctl and the deadline children); slow, and not part of the figures.
if grep -q 'vh\.profile=1' /proc/cmdline; then
	command -v strace >/dev/null || vh_die "strace is missing (package strace)"
	for who in vfio-handoff floor; do
		for op in prepare release; do
			case $who/$op in
			vfio-handoff/prepare) set -- $BIN/hooks/qemu vm1 prepare begin - ;;
			vfio-handoff/release) set -- $BIN/hooks/qemu vm1 release end - ;;
			floor/*) set -- $BIN/floor $FLOOR_ARGS $op ;;
			esac
			strace -f -c -o $VH_WORK/strace.c "$@" <$VH_WORK/vm1.xml >/dev/null 2>&1
			sed "s/^/  strace -c $who $op: /" $VH_WORK/strace.c | head -30
			[ $op = prepare ] && { vh_wait 20 on_vfio || vh_die "$who: not on vfio-pci"; }
			[ $op = release ] && { vh_wait 30 host_back || vh_die "$who: host not back"; }
		done
	done
fi

# The hook for calls it does not act on, against exec'ing /bin/true (alternating blocks).
bash $VB/hook-fastpath.sh --hook $BIN/hooks/qemu --true $BIN/true --rounds $ROUNDS \
	--xml $VH_WORK/other.xml "$CALLS" || vh_fail "hook-fastpath.sh failed"

# Peak memory of the other programs: the hook's fast path, systemctl as the engine runs it,
# the command (which links libvirt) for a hand-off and give-back.
HWM=1
timed hook-fastpath prepare 1 $VH_WORK/other.xml $BIN/hooks/qemu other prepare begin -
timed systemctl is-active 1 /dev/null /usr/bin/systemctl --no-ask-password is-active \
	display-manager.service
timed vfio-handoff-cmd prepare 1 /dev/null $BIN/vfio-handoff prepare vm1 --xml $VH_WORK/vm1.xml
vh_wait 20 on_vfio || vh_fail "vfio-handoff prepare: not on vfio-pci: $(vh_drivers)"
timed vfio-handoff-cmd release 1 /dev/null $BIN/vfio-handoff release vm1
vh_wait 30 host_back || vh_fail "vfio-handoff release: the host did not come back"
HWM=0
cat $VH_WORK/hwm
