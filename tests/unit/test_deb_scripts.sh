#!/bin/bash
# The Debian package's maintainer scripts (debian/vfio-handoff.*) run as dpkg runs them,
# with DPKG_ROOT pointing at a temporary tree: preinst refuses a place that is not the
# package's and a second copy of the hook; prerm refuses removal while a VM holds devices,
# naming it; postrm purge takes the lock, never a journal. TAP-style.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
deb=$top/debian
work=$(mktemp -d /tmp/vh-deb-scripts.XXXXXX)
trap 'rm -rf "$work"' EXIT

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
	local desc=$1; shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}
snap() { (cd "$1" && find . -printf '%y %m %p %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
# Programs the scripts must not run against this machine when DPKG_ROOT is set: they
# only record that they were called.
fakebin=$work/fakebin
mkdir -p "$fakebin"
for t in systemctl pidof kill; do
	printf '#!/bin/sh\necho "%s $*" >>%s/called\nexit 1\n' "$t" "$work" >"$fakebin/$t"
	chmod +x "$fakebin/$t"
done
# script NAME ROOT ARGS...: status in $rc, stdout and stderr in $work/out, $work/err.
script() {
	local name=$1 root=$2
	shift 2
	DPKG_ROOT=$root PATH=$fakebin:$PATH sh "$deb/vfio-handoff.$name" "$@" \
		</dev/null >"$work/out" 2>"$work/err"
	rc=$?
}
err_lines() { grep -c . "$work/err"; }
fresh() { rm -rf "$R" && mkdir -p "$R/etc/libvirt/hooks" "$R/run" && R_before=$(snap "$R"); }

for f in preinst postinst prerm postrm; do
	check "debian/vfio-handoff.$f is executable and parses (sh -n)" \
		eval '[ -x "$deb/vfio-handoff.$f" ] && sh -n "$deb/vfio-handoff.$f"'
done

R=$work/root
H=$R/etc/libvirt/hooks

# --- preinst -----------------------------------------------------------------------------
fresh
script preinst "$R" install
check "preinst install on a host without hooks: exit 0, nothing changed" \
	eval '[ $rc -eq 0 ] && [ "$(snap "$R")" = "$R_before" ]'

mkdir -p "$H/qemu.d"
printf '#!/bin/sh\nexit 0\n' >"$H/qemu.d/vfio-handoff"
before=$(snap "$R")
script preinst "$R" install
check "a foreign file at qemu.d/vfio-handoff is refused: exit 1, one line naming it" \
	eval '[ $rc -eq 1 ] && [ "$(err_lines)" -eq 1 ] && grep -q "$H/qemu.d/vfio-handoff exists and is not" "$work/err"'
check "... and left as it was" [ "$(snap "$R")" = "$before" ]
rm -f "$H/qemu.d/vfio-handoff"
ln -s /usr/bin/something-else "$H/qemu.d/vfio-handoff"
script preinst "$R" install
check "a foreign link there is refused too" eval '[ $rc -eq 1 ] && [ -L "$H/qemu.d/vfio-handoff" ]'
rm -f "$H/qemu.d/vfio-handoff"
ln -s /usr/sbin/vfio-handoff-hook "$H/qemu.d/vfio-handoff"
mkdir -p "$H/vfio-handoff"
ln -s /usr/sbin/vfio-handoff-hook-engine "$H/vfio-handoff/hook-engine"
script preinst "$R" upgrade 0.1.0
check "the package's own links (an upgrade): exit 0" [ $rc -eq 0 ]
rm -f "$H/vfio-handoff/hook-engine"
printf 'x\n' >"$H/vfio-handoff/hook-engine"
script preinst "$R" upgrade 0.1.0
check "a foreign file where the hook finds its engine is refused" \
	eval '[ $rc -eq 1 ] && grep -q "$H/vfio-handoff/hook-engine exists" "$work/err"'
rm -rf "$H/vfio-handoff" "$H/qemu.d/vfio-handoff"

printf '#!/bin/sh\n# the libvirt hook of vfio-handoff\n' >"$H/qemu"
script preinst "$R" install
check "our hook already at hooks/qemu is refused (libvirt would run it twice), naming it" \
	eval '[ $rc -eq 1 ] && [ "$(err_lines)" -eq 1 ] && grep -q "also at $H/qemu;" "$work/err"'
printf '#!/bin/sh\n# the admin'"'"'s own hook\n' >"$H/qemu"
printf '#!/bin/sh\nexit 0\n' >"$H/qemu.d/10-admin"
script preinst "$R" install
check "the administrator's hooks/qemu and qemu.d/10-admin are no obstacle" [ $rc -eq 0 ]

mkdir -p "$R/var/lib/vfio-handoff"
: >"$R/var/lib/vfio-handoff/install-manifest"
script preinst "$R" install
check "an install.sh installation is refused, saying how to remove it" \
	eval '[ $rc -eq 1 ] && [ "$(err_lines)" -eq 1 ] && grep -q "install.sh --uninstall" "$work/err"'

# --- prerm -------------------------------------------------------------------------------
fresh
script prerm "$R" remove
check "prerm remove with no journal: exit 0" [ $rc -eq 0 ]
mkdir -p "$R/run/vfio-handoff"
: >"$R/run/vfio-handoff/win10.journal"
: >"$R/run/vfio-handoff/linux-gpu.journal"
script prerm "$R" remove
check "prerm remove while VMs hold devices: exit 1, one line naming both" \
	eval '[ $rc -eq 1 ] && [ "$(err_lines)" -eq 1 ] && grep -q "VM(s) linux-gpu win10 hold devices" "$work/err"'
script prerm "$R" upgrade 0.1.1
check "prerm upgrade goes ahead (the hook stays)" [ $rc -eq 0 ]

# --- postrm ------------------------------------------------------------------------------
: >"$R/run/vfio-handoff/lock"
script postrm "$R" purge
check "postrm purge with journals: the lock goes, the journals stay" \
	eval '[ $rc -eq 0 ] && [ ! -e "$R/run/vfio-handoff/lock" ] && [ -e "$R/run/vfio-handoff/win10.journal" ]'
rm -f "$R"/run/vfio-handoff/*.journal
: >"$R/run/vfio-handoff/lock"
mkdir -p "$R/etc/vfio-handoff/vm.d"
: >"$R/etc/vfio-handoff/vm.d/win10.conf"
script postrm "$R" purge
check "postrm purge: /run/vfio-handoff goes, the administrator's vm.d/win10.conf stays" \
	eval '[ $rc -eq 0 ] && [ ! -e "$R/run/vfio-handoff" ] && [ -e "$R/etc/vfio-handoff/vm.d/win10.conf" ]'
script postrm "$R" remove
check "postrm remove: exit 0" [ $rc -eq 0 ]

# --- postinst ----------------------------------------------------------------------------
script postinst "$R" configure
check "postinst configure into another root: exit 0" [ $rc -eq 0 ]
check "no daemon was restarted or signalled, nothing looked up on this machine" [ ! -e "$work/called" ]

echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
