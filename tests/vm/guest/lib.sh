# Assertions for the real-kernel scenarios (busybox sh, inside the guest): state snapshots
# of the GPU slot and everything a hand-off touches, waits on sysfs, hook/command runners.

VH=/vh
VH_HOOK=$VH/build/vfio-handoff-hook
VH_CLI=$VH/build/vfio-handoff
VH_BIN=$VH/bin
VH_WORK=/tmp/vh
VH_FAILS=$VH_WORK/fails
PCI=/sys/bus/pci/devices
# A sanitizer build runs here too; leak checking needs ptrace, which is not the point here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# vfio-pci stays loaded after a give-back by design (loading it is not undone).
VH_MODULES_IGNORE="vfio vfio_pci vfio_pci_core vfio_iommu_type1 vfio_virqfd irqbypass iommufd"

# Milliseconds of uptime (10 ms resolution; busybox's date has no %N).
vh_ms() {
	local u
	read -r u _ </proc/uptime
	u=${u%.*}${u#*.}
	while case $u in 0?*) true ;; *) false ;; esac; do u=${u#0}; done
	echo $((u * 10))
}

vh_begin() {
	VH_NAME=$1
	mkdir -p $VH_WORK
	: >$VH_FAILS
	VH_T0=$(vh_ms)
	echo "=== scenario $VH_NAME (uptime $(cut -d' ' -f1 /proc/uptime) s)"
}

vh_end() {
	local n
	n=$(wc -l <$VH_FAILS)
	[ "$1" -ne 0 ] && [ "$n" -eq 0 ] && echo "FAIL: the scenario exited with status $1" && n=1
	echo "=== $VH_NAME: $n failure(s), $(($(vh_ms) - VH_T0)) ms in the guest"
	if [ "$n" -eq 0 ]; then
		echo "VH-RESULT PASS $VH_NAME"
	else
		echo "VH-RESULT FAIL $VH_NAME"
	fi
}

vh_info() { echo "  $*"; }
vh_ok() { echo "  ok: $*"; }
vh_fail() {
	echo "FAIL: $*"
	echo "$*" >>$VH_FAILS
}
# A failure after which the scenario cannot go on.
vh_die() {
	vh_fail "$@"
	exit 1
}
# vh_check DESCRIPTION COMMAND...: runs the command, a failure if it fails.
vh_check() {
	local what=$1
	shift
	if "$@"; then vh_ok "$what"; else vh_fail "$what"; fi
}

# vh_wait TIMEOUT_S COMMAND...: polls the command every 50 ms until it succeeds.
vh_wait() {
	local end=$(($(vh_ms) + $1 * 1000))
	shift
	while ! "$@"; do
		[ "$(vh_ms)" -lt $end ] || return 1
		sleep 0.05
	done
}

# ---- the emulated host -------------------------------------------------------------------

# Sets VH_GPU (the boot VGA function), VH_FUNCS (every function of its slot), VH_GROUP.
vh_find_gpu() {
	local d
	VH_GPU=
	for d in $PCI/*; do
		case $(cat $d/class) in 0x0300*) ;; *) continue ;; esac
		[ "$(cat $d/boot_vga 2>/dev/null)" = 1 ] && VH_GPU=${d##*/}
	done
	[ -n "$VH_GPU" ] || vh_die "no boot VGA device"
	VH_FUNCS=$(cd $PCI && echo ${VH_GPU%.*}.*)
	VH_GROUP=$(vh_group $VH_GPU)
}

vh_group() { basename "$(readlink $PCI/$1/iommu_group)"; }
vh_driver() {
	if [ -e $PCI/$1/driver ]; then basename "$(readlink $PCI/$1/driver)"; else echo none; fi
}
vh_override() { cat $PCI/$1/driver_override; }

# The frame buffer console's vtcon directory (by name, never by index), or nothing.
vh_fbcon() {
	local v
	for v in /sys/class/vtconsole/vtcon*; do
		grep -q 'frame buffer' $v/name 2>/dev/null && echo $v && return 0
	done
	return 1
}
vh_fbcon_bound() {
	local v
	v=$(vh_fbcon) && [ "$(cat $v/bind)" = 1 ]
}

# The state a hand-off changes and a give-back restores, one fact a line.
vh_snapshot() {
	local f d m
	{
		for f in $VH_FUNCS; do
			echo "pci $f driver=$(vh_driver $f) override=$(vh_override $f)" \
				"group=$(vh_group $f)"
		done
		for d in $PCI/${VH_GPU}/drm/card*; do
			[ -e "$d" ] && echo "drm $VH_GPU ${d##*/}"
		done
		for d in /sys/class/vtconsole/vtcon*; do
			echo "vtcon ${d##*/} bind=$(cat $d/bind) name=$(cat $d/name)"
		done
		for d in /sys/bus/platform/devices/*framebuffer*; do
			[ -e "$d" ] || continue
			if [ -e $d/driver ]; then m=$(basename "$(readlink $d/driver)"); else m=none; fi
			echo "platform ${d##*/} driver=$m"
		done
		for d in /sys/class/graphics/*; do
			[ -e "$d" ] && echo "graphics ${d##*/}"
		done
		sed 's/^/fb /' /proc/fb
		for m in $(cut -d' ' -f1 /proc/modules | sort); do
			case " $VH_MODULES_IGNORE " in *" $m "*) continue ;; esac
			echo "module $m"
		done
		for d in /dev/vfio/*; do
			[ -e "$d" ] && [ "${d##*/}" != vfio ] && echo "vfio ${d##*/}"
		done
		if [ -d /run/systemd/system ]; then
			for m in display-manager.service; do
				echo "unit $m $(systemctl is-active $m 2>/dev/null)"
			done
		fi
	} >"$1"
}

# vh_same BEFORE AFTER WHAT: a failure showing the differences when the snapshots differ.
vh_same() {
	if diff -u "$1" "$2" >$VH_WORK/diff; then
		vh_ok "$3: state identical to before"
	else
		vh_fail "$3: state differs from before:"
		sed 's/^/    /' $VH_WORK/diff
	fi
}

vh_show() { sed 's/^/    /' "$1"; }

vh_assert_driver() {
	local d
	d=$(vh_driver $1)
	[ "$d" = "$2" ] || { vh_fail "$1 is on $d, expected $2"; return 1; }
}

# Every function of the slot on vfio-pci, its group node present and viable.
vh_assert_on_vfio() {
	local f bad=0
	for f in $VH_FUNCS; do
		vh_assert_driver $f vfio-pci || bad=1
	done
	[ $bad = 0 ] && vh_ok "every function of the group is on vfio-pci"
	local g
	g=$(vh_group $VH_GPU)
	if [ -c /dev/vfio/$g ]; then
		vh_ok "/dev/vfio/$g exists"
		if $VH_BIN/vfio-check $g $VH_FUNCS; then
			vh_ok "/dev/vfio/$g opens and the group is viable"
		else
			vh_fail "/dev/vfio/$g is not usable"
		fi
	else
		vh_fail "/dev/vfio/$g is missing"
	fi
}

# The emulated host after boot: the drivers' probes are done (HDA probes asynchronously).
vh_host_ready() {
	[ "$(vh_driver ${VH_GPU%.*}.0)" = bochs-drm ] &&
		[ "$(vh_driver ${VH_GPU%.*}.1)" = snd_hda_intel ] &&
		[ "$(vh_driver ${VH_GPU%.*}.2)" = xhci_hcd ] &&
		[ -e /proc/asound/card0/codec#0 ] && vh_fbcon_bound
}
vh_wait_host() {
	vh_find_gpu
	vh_wait 30 vh_host_ready || vh_die "the emulated host did not come up: $(vh_drivers)"
}
vh_drivers() {
	local f
	for f in $VH_FUNCS; do printf '%s=%s ' $f $(vh_driver $f); done
}

# ---- configuration and calls -------------------------------------------------------------

# vh_optin VM [LINE...]: the VM's opt-in file, root-owned, mode 0644.
vh_optin() {
	local vm=$1 f
	shift
	mkdir -p /etc/vfio-handoff/vm.d
	chmod 0755 /etc/vfio-handoff /etc/vfio-handoff/vm.d
	f=/etc/vfio-handoff/vm.d/$vm.conf
	: >$f
	for l in "$@"; do echo "$l" >>$f; done
	chown root:root $f
	chmod 0644 $f
}

# vh_xml VM FILE BDF...: a domain XML with the functions as managed PCI hostdevs.
vh_xml() {
	local vm=$1 out=$2 b
	shift 2
	{
		echo "<domain type='kvm'>"
		echo "  <name>$vm</name>"
		echo "  <uuid>$(cat /proc/sys/kernel/random/uuid)</uuid>"
		echo "  <memory unit='KiB'>1048576</memory>"
		echo "  <os><type arch='x86_64' machine='q35'>hvm</type></os>"
		echo "  <devices>"
		for b in "$@"; do
			set -- $(echo $b | tr ':.' '  ')
			echo "    <hostdev mode='subsystem' type='pci' managed='yes'>"
			echo "      <source><address domain='0x$1' bus='0x$2' slot='0x$3'" \
				"function='0x$4'/></source>"
			echo "    </hostdev>"
		done
		echo "  </devices>"
		echo "</domain>"
	} >$out
}

# vh_run TAG COMMAND...: runs a program under test; VH_RC, VH_MS, stderr in $VH_WORK/TAG.err,
# stdout in $VH_WORK/TAG.out.
vh_run() {
	local tag=$1 t
	shift
	t=$(vh_ms)
	"$@" >$VH_WORK/$tag.out 2>$VH_WORK/$tag.err
	VH_RC=$?
	VH_MS=$(($(vh_ms) - t))
	vh_info "$tag: exit $VH_RC in $VH_MS ms"
	[ -s $VH_WORK/$tag.err ] && sed 's/^/    stderr: /' $VH_WORK/$tag.err
	return 0
}

# vh_hook TAG VM OP SUBOP XML [VAR=VALUE...]: the hook as libvirt runs it, with extra
# environment (fault injection).
vh_hook() {
	local tag=$1 vm=$2 op=$3 sub=$4 xml=$5
	shift 5
	vh_run "$tag" env "$@" $VH_HOOK "$vm" "$op" "$sub" - <"$xml"
}

vh_expect_rc0() {
	[ "$VH_RC" = 0 ] && return 0
	vh_fail "$1 exited $VH_RC"
	return 1
}
vh_expect_stdout_empty() {
	[ -s "$VH_WORK/$1.out" ] && vh_fail "$1 wrote to stdout"
	return 0
}
# The failure contract: non-zero exit, exactly one line on stderr.
vh_expect_one_line_failure() {
	local n
	[ "$VH_RC" != 0 ] || { vh_fail "$1 succeeded, expected a failure"; return 1; }
	n=$(wc -l <$VH_WORK/$1.err)
	[ "$n" = 1 ] || { vh_fail "$1 printed $n lines on stderr, expected exactly 1"; return 1; }
	vh_ok "$1 failed with one line: $(cat $VH_WORK/$1.err)"
}

# Nothing held: no journal left, status lists nothing.
vh_expect_nothing_held() {
	local j
	for j in /run/vfio-handoff/*.journal; do
		[ -e "$j" ] && vh_fail "journal left behind: $j"
	done
	vh_run status $VH_CLI status
	if grep -q "$VH_GPU" $VH_WORK/status.out; then
		vh_fail "status still lists $VH_GPU:"
		vh_show $VH_WORK/status.out
	fi
}

# PIDs (and commands) holding any of the files given.
vh_holders() {
	local p fd t f
	for p in /proc/[0-9]*; do
		for fd in $p/fd/*; do
			t=$(readlink $fd 2>/dev/null) || continue
			for f in "$@"; do
				[ "$t" = "$f" ] && echo "${p#/proc/} $(cat $p/comm)" && break 2
			done
		done
	done
}

# After a failure already reported: bring the host back by hand (fbcon, journals) so the
# next check starts clean instead of failing for the same reason again.
vh_repair() {
	if ! vh_fbcon_bound && [ -c /dev/fb0 ]; then
		$VH_BIN/con2fb 1 && vh_info "repair: fbcon rebound with FBIOPUT_CON2FBMAP"
	fi
	rm -f /run/vfio-handoff/*.journal
}
