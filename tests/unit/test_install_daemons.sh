#!/bin/bash
# Which libvirt daemon install.sh tells about a new hook, and how: the monolithic libvirtd
# (Debian, Ubuntu) or the modular virtqemud (Fedora, Arch: socket-activated), under systemd
# (restart of the service) or not (SIGHUP). The daemons and systemctl are stand-ins; the
# install is a real one (no DESTDIR, so the restart path runs) into temporary directories,
# in a private mount namespace whose /run and /var/lib are empty tmpfs, so nothing of the
# machine is read or written. Needs root (unshare); TAP-style.
set -u
B=${B:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $B in /*) ;; *) B=$PWD/$B ;; esac
inst=$top/install.sh

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
	local desc=$1; shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}

if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	echo "ok 1 - # SKIP needs root and unshare -m (a private /run and /var/lib)"
	exit 0
fi
for f in "$B/vfio-handoff-hook" "$B/vfio-handoff-hook-engine" "$B/vfio-handoff"; do
	[ -x "$f" ] || { echo "not ok 1 - $f is built (run make first)"; exit 1; }
done

work=$(mktemp -d /tmp/vh-install-daemons.XXXXXX)
stand=
trap '[ -n "$stand" ] && kill "$stand" 2>/dev/null; rm -rf "$work"' EXIT

# Stand-ins: systemctl answers is-active from $work/active (one unit a line) and records
# restart; pidof prints the PID in $work/pid.NAME.
fakebin=$work/fakebin
mkdir -p "$fakebin"
cat >"$fakebin/systemctl" <<EOF
#!/bin/bash
echo "systemctl \$*" >>$work/called
case \$1 in
is-active) [ "\$2" = --quiet ] && shift; grep -qx "\$2" $work/active 2>/dev/null ;;
restart) exit 0 ;;
*) exit 1 ;;
esac
EOF
cat >"$fakebin/pidof" <<EOF
#!/bin/bash
echo "pidof \$*" >>$work/called
[ -f $work/pid.\$1 ] && cat $work/pid.\$1
EOF
chmod +x "$fakebin/systemctl" "$fakebin/pidof"

# install_with SYSTEMD(yes|no): a fresh install with --restart into $work/t, in a private
# mount namespace (systemd "running" when /run/systemd/system exists there).
install_with() {
	local sd=$1
	rm -rf "$work/t" "$work/called"
	mkdir -p "$work/t"
	unshare -m --propagation private bash -c '
		mount -t tmpfs vh-run /run && mount -t tmpfs vh-varlib /var/lib || exit 97
		[ "$1" = yes ] && mkdir -p /run/systemd/system
		shift
		exec "$@"' sh "$sd" env PATH="$fakebin:$PATH" "$inst" --restart --build-dir "$B" \
		--prefix "$work/t/usr" --sysconfdir "$work/t/etc" \
		--hooks-dir "$work/t/etc/libvirt/hooks" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}
called() { grep -qxF "$1" "$work/called" 2>/dev/null; }
# A stand-in daemon process: a sleep that SIGHUP ends (status 129 to wait).
start_stand_in() {
	sleep 1000 &
	stand=$!
	echo "$stand" >"$work/pid.$1"
}
# Whether the stand-in got SIGHUP. It is sent TERM now: a HUP already sent is the lower
# signal and is delivered first, so the status says which one ended it (129 or 143).
hupped() {
	local st
	kill -TERM "$stand" 2>/dev/null
	{ wait "$stand"; } 2>/dev/null
	st=$?
	stand=
	[ "$st" -eq 129 ]
}

# --- systemd, the modular daemons: virtqemud.service active ----------------------------
rm -f "$work"/active "$work"/pid.*
echo virtqemud.service >"$work/active"
install_with yes
check "systemd, virtqemud.service active: install exits 0" [ "$rc" -eq 0 ]
check "... virtqemud.service is restarted" called "systemctl restart virtqemud.service"
check "... libvirtd is not restarted" eval '! grep -q "restart libvirtd" "$work/called"'
check "... the output names virtqemud" grep -q 'Restarted virtqemud' "$work/out"
check "... the hook is in place" cmp -s "$work/t/etc/libvirt/hooks/qemu" "$B/vfio-handoff-hook"

# --- systemd, socket activation only: the service is not running -----------------------
# Fedora and Arch start virtqemud on the first connection to its socket and stop it when
# idle: the next start reads the hooks anew, so there is nothing to restart.
echo virtqemud.socket >"$work/active"
install_with yes
check "systemd, only virtqemud.socket active: install exits 0" [ "$rc" -eq 0 ]
check "... nothing is restarted" eval '! grep -q "systemctl restart" "$work/called"'
check "... it says the next daemon start sees the hook" grep -q 'next start will see' "$work/out"

# --- systemd, the monolithic daemon --------------------------------------------------
echo libvirtd.service >"$work/active"
install_with yes
check "systemd, libvirtd.service active: libvirtd.service is restarted" \
	eval '[ "$rc" -eq 0 ] && called "systemctl restart libvirtd.service"'
check "... virtqemud is not restarted" eval '! grep -q "restart virtqemud" "$work/called"'

# --- no systemd: a running virtqemud gets SIGHUP -------------------------------------
rm -f "$work/active"
start_stand_in virtqemud
install_with no
check "no systemd, virtqemud running: install exits 0" [ "$rc" -eq 0 ]
check "... virtqemud got SIGHUP (it re-reads its hooks)" hupped
check "... and systemctl was never asked to restart" eval '! grep -q "systemctl restart" "$work/called"'
check "... the output says so" grep -q 'Sent SIGHUP to virtqemud' "$work/out"

# --- no systemd, libvirtd running ------------------------------------------------------
rm -f "$work"/pid.*
start_stand_in libvirtd
install_with no
check "no systemd, libvirtd running: libvirtd got SIGHUP" eval '[ "$rc" -eq 0 ] && hupped'

# --- no daemon at all ------------------------------------------------------------------
rm -f "$work"/pid.* "$work/active"
install_with yes
check "no daemon running: install exits 0, nothing restarted or signalled" \
	eval '[ "$rc" -eq 0 ] && ! grep -q "systemctl restart" "$work/called"'

echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
