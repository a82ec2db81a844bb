#!/bin/bash
# install.sh into temporary DESTDIR trees: files and modes, foreign hooks (refused, --force,
# restored by --uninstall), idempotent re-install, admin files kept, qemu.d mode. TAP-style.
set -u
B=${B:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $B in /*) ;; *) B=$PWD/$B ;; esac
B_checkout=$B
inst=$top/install.sh
work=$(mktemp -d /tmp/vh-install-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; return 1; }
check() { # check DESCRIPTION COMMAND...
	local desc=$1; shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}
mode() { stat -c %a "$1" 2>/dev/null; }
owner() { stat -c %U:%G "$1" 2>/dev/null; }
# Everything in a tree: type, mode, owner, path, content hash.
snap() {
	(cd "$1" && find . -mindepth 1 -printf '%y %m %u %p %l\n' | sort &&
		find . -type f -exec sha256sum {} + | sort -k2)
}
# run DESTDIR ARGS...: install.sh with a PATH where systemctl/kill-type tools only record
# that they were called; output in $work/out, $work/err, status in $rc.
fakebin=$work/fakebin
mkdir -p "$fakebin"
for t in systemctl pidof; do
	printf '#!/bin/sh\necho "%s $*" >>%s/called\nexit 1\n' "$t" "$work" >"$fakebin/$t"
	chmod +x "$fakebin/$t"
done
run() {
	local dd=$1; shift
	DESTDIR=$dd PATH=$fakebin:$PATH "$inst" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}
runb() { local dd=$1; shift; run "$dd" --build-dir "$B" "$@"; }
err_lines() { grep -c . "$work/err"; }

for f in "$B/vfio-handoff-hook" "$B/vfio-handoff"; do
	if [ ! -x "$f" ]; then
		nok "$f is built (run make first)"; echo "0 passed, 1 failed"; exit 1
	fi
done
real_hook_before=$(sha256sum /etc/libvirt/hooks/qemu 2>/dev/null || echo absent)

# --- usage -----------------------------------------------------------------------------
"$inst" --help >"$work/out" 2>&1
check "--help exits 0 and documents --uninstall, --force, --qemu-d" \
	eval '[ $? -eq 0 ] && grep -q -- --uninstall "$work/out" && grep -q -- --force "$work/out" && grep -q -- --qemu-d "$work/out"'
run "$work/u" --bogus
check "an unknown option exits 2 with one line" eval '[ $rc -eq 2 ] && [ "$(err_lines)" -eq 1 ]'
run "$work/u" --build-dir "$work/nothing"
check "a build dir without the programs exits 1, one line, nothing installed" \
	eval '[ $rc -eq 1 ] && [ "$(err_lines)" -eq 1 ] && [ ! -e "$work/u" ]'

check "install.sh uses no process substitution (minimal systems have no /dev/fd)" \
	eval '! grep -nE "<[[:space:]]*<\(|>\(" "$inst"'

# --- fresh install ---------------------------------------------------------------------
d=$work/fresh
mkdir -p "$d"
runb "$d" --restart
check "fresh install exits 0" [ $rc -eq 0 ]
h=$d/etc/libvirt/hooks/qemu
check "the hook is /etc/libvirt/hooks/qemu, the built hook program" cmp -s "$h" "$B/vfio-handoff-hook"
check "the hook is mode 0755" [ "$(mode "$h")" = 755 ]
if [ "$(id -u)" -eq 0 ]; then
	check "the hook is owned by root" [ "$(owner "$h")" = root:root ]
fi
check "the command is PREFIX/bin/vfio-handoff (default /usr/local), mode 0755" \
	eval 'cmp -s "$d/usr/local/bin/vfio-handoff" "$B/vfio-handoff" && [ "$(mode "$d/usr/local/bin/vfio-handoff")" = 755 ]'
check "the engine the hook runs is beside it: hooks/vfio-handoff/hook-engine, mode 0755" \
	eval 'cmp -s "$d/etc/libvirt/hooks/vfio-handoff/hook-engine" "$B/vfio-handoff-hook-engine" && [ "$(mode "$d/etc/libvirt/hooks/vfio-handoff/hook-engine")" = 755 ]'
check "/etc/vfio-handoff/vm.d exists, mode 0755" \
	eval '[ -d "$d/etc/vfio-handoff/vm.d" ] && [ "$(mode "$d/etc/vfio-handoff/vm.d")" = 755 ] && [ "$(mode "$d/etc/vfio-handoff")" = 755 ]'
exok=1
for f in "$top"/config/*; do
	[ -f "$f" ] || continue
	e=$d/etc/vfio-handoff/examples/${f##*/}
	cmp -s "$f" "$e" && [ "$(mode "$e")" = 644 ] || exok=0
done
check "every config/ file is in /etc/vfio-handoff/examples/, mode 0644" [ $exok = 1 ]
if [ -f "$top/config/vfio-handoff.conf" ]; then
	check "the global config is created from the example" \
		cmp -s "$top/config/vfio-handoff.conf" "$d/etc/vfio-handoff/vfio-handoff.conf"
fi
for m in "$top"/vfio-handoff*.[1-8] "$top"/*/vfio-handoff*.[1-8]; do
	case $m in "$top"/build/* | "$top"/tests/*) continue ;; esac
	[ -f "$m" ] || continue
	check "the man page ${m##*/} is installed" [ -f "$d/usr/local/share/man/man${m##*.}/${m##*/}" ]
done
check "a manifest records what was installed" \
	eval 'grep -q "^hook [0-9a-f]\{64\} /etc/libvirt/hooks/qemu$" "$d/var/lib/vfio-handoff/install-manifest"'
check "the output says where the hook went" grep -q "$h" "$work/out"
check "no daemon restarted or signalled in a DESTDIR install (even with --restart)" [ ! -e "$work/called" ]
"$h" --root "$d" notoptedin prepare begin - </dev/null >"$work/hout" 2>&1
check "the installed hook runs: exit 0, silent, for a VM that did not opt in" eval '[ $? -eq 0 ] && [ ! -s "$work/hout" ]'
check "the host's own /etc/libvirt/hooks/qemu is untouched" \
	[ "$(sha256sum /etc/libvirt/hooks/qemu 2>/dev/null || echo absent)" = "$real_hook_before" ]

# Re-install over our own install: nothing changes.
s1=$(snap "$d")
runb "$d" --no-restart
check "re-install exits 0 and changes nothing" eval '[ $rc -eq 0 ] && [ "$(snap "$d")" = "$s1" ]'

# Uninstall of a fresh install leaves the tree as empty as it was.
runb "$d" --uninstall
check "--uninstall of a fresh install exits 0" [ $rc -eq 0 ]
check "--uninstall leaves nothing behind" eval '[ -z "$(ls -A "$d")" ]'
runb "$d" --uninstall
check "--uninstall with nothing installed exits 4, one line" eval '[ $rc -eq 4 ] && [ "$(err_lines)" -eq 1 ]'

# --- PREFIX / SYSCONFDIR from the environment and options ------------------------------
d=$work/prefix
PREFIX=/opt/vh runb "$d"
check "PREFIX from the environment: /opt/vh/bin/vfio-handoff" eval '[ $rc -eq 0 ] && [ -x "$d/opt/vh/bin/vfio-handoff" ] && [ ! -e "$d/usr/local" ]'
runb "$d" --uninstall
d=$work/prefix2
runb "$d" --prefix /usr --sysconfdir /srv/etc
check "--prefix/--sysconfdir: /usr/bin, /srv/etc/libvirt/hooks/qemu and its engine, /srv/etc/vfio-handoff" \
	eval '[ $rc -eq 0 ] && [ -x "$d/usr/bin/vfio-handoff" ] && [ -x "$d/srv/etc/libvirt/hooks/qemu" ] && [ -x "$d/srv/etc/libvirt/hooks/vfio-handoff/hook-engine" ] && [ -d "$d/srv/etc/vfio-handoff/vm.d" ]'
runb "$d" --uninstall --prefix /usr --sysconfdir /srv/etc
check "... and its --uninstall leaves nothing" eval '[ $rc -eq 0 ] && [ -z "$(ls -A "$d")" ]'

# --- a foreign hook --------------------------------------------------------------------
d=$work/foreign
h=$d/etc/libvirt/hooks/qemu
mkdir -p "${h%/*}" "$d/etc/vfio-handoff"
printf '#!/bin/sh\n# the admin'"'"'s own hook\nexit 0\n' >"$h"
chmod 0750 "$h"
printf '# the admin'"'"'s global settings\ntimeout = 20\n' >"$d/etc/vfio-handoff/vfio-handoff.conf"
chmod 0600 "$d/etc/vfio-handoff/vfio-handoff.conf"
before=$(snap "$d")
foreign_sum=$(sha256sum <"$h")
runb "$d"
check "a foreign hook is refused: exit 3" [ $rc -eq 3 ]
check "... with one line on stderr that names it and --force" \
	eval '[ "$(err_lines)" -eq 1 ] && grep -q "$h" "$work/err" && grep -q -- --force "$work/err"'
check "... and the tree is exactly as before (hook intact, nothing installed)" [ "$(snap "$d")" = "$before" ]

runb "$d" --force
check "--force installs: exit 0" [ $rc -eq 0 ]
check "... the hook is ours" cmp -s "$h" "$B/vfio-handoff-hook"
check "... the foreign hook is in qemu.vfio-handoff-backup, content and mode kept" \
	eval '[ "$(sha256sum <"$h.vfio-handoff-backup")" = "$foreign_sum" ] && [ "$(mode "$h.vfio-handoff-backup")" = 750 ]'
check "... the output names the backup" grep -q "qemu.vfio-handoff-backup" "$work/out"
check "... the admin's global config is untouched" \
	eval 'grep -q "timeout = 20" "$d/etc/vfio-handoff/vfio-handoff.conf" && [ "$(mode "$d/etc/vfio-handoff/vfio-handoff.conf")" = 600 ]'

# The admin opts a VM in and edits the config; a re-install keeps both.
printf 'group = strict\n' >"$d/etc/vfio-handoff/vm.d/foo.conf"
chmod 0644 "$d/etc/vfio-handoff/vm.d/foo.conf"
printf 'holders = kill\n' >>"$d/etc/vfio-handoff/vfio-handoff.conf"
s1=$(snap "$d")
runb "$d"
check "re-install with our hook in place needs no --force: exit 0" [ $rc -eq 0 ]
check "re-install is idempotent: edited config, vm.d/foo.conf and backup unchanged" [ "$(snap "$d")" = "$s1" ]

runb "$d" --uninstall
check "--uninstall exits 0" [ $rc -eq 0 ]
check "--uninstall restores the foreign hook (content and mode)" \
	eval '[ "$(sha256sum <"$h")" = "$foreign_sum" ] && [ "$(mode "$h")" = 750 ] && [ ! -e "$h.vfio-handoff-backup" ]'
check "--uninstall keeps the admin's vm.d/foo.conf and edited config" \
	eval '[ -f "$d/etc/vfio-handoff/vm.d/foo.conf" ] && grep -q "holders = kill" "$d/etc/vfio-handoff/vfio-handoff.conf"'
check "--uninstall removes the command, the examples and the manifest" \
	eval '[ ! -e "$d/usr/local/bin/vfio-handoff" ] && [ ! -e "$d/etc/vfio-handoff/examples" ] && [ ! -e "$d/var/lib/vfio-handoff" ]'
# vm.d/ stayed because foo.conf is in it; without the admin's file the tree is as before.
rm -f "$d/etc/vfio-handoff/vm.d/foo.conf"
rmdir "$d/etc/vfio-handoff/vm.d"
printf '# the admin'"'"'s global settings\ntimeout = 20\n' >"$d/etc/vfio-handoff/vfio-handoff.conf"
after=$(snap "$d")
check "--uninstall removed exactly what it installed (the tree is as before)" [ "$after" = "$before" ] || diff <(echo "$before") <(echo "$after")

# A backup name that is taken is never overwritten.
echo other >"$h.vfio-handoff-backup"
runb "$d" --force
check "--force with the backup name taken: exit 3, nothing changed" \
	eval '[ $rc -eq 3 ] && grep -q "the admin" "$h" && grep -q other "$h.vfio-handoff-backup"'
rm -f "$h.vfio-handoff-backup"

# A symbolic link as hook is foreign too.
d=$work/link
mkdir -p "$d/etc/libvirt/hooks"
ln -s /usr/share/some-dispatcher "$d/etc/libvirt/hooks/qemu"
runb "$d"
check "a symlinked foreign hook is refused (exit 3)" eval '[ $rc -eq 3 ] && [ -L "$d/etc/libvirt/hooks/qemu" ]'
runb "$d" --force
runb "$d" --uninstall
check "--force/--uninstall restore the symlink itself" \
	eval '[ "$(readlink "$d/etc/libvirt/hooks/qemu")" = /usr/share/some-dispatcher ]'

# --- a config file an admin wrote after the install ------------------------------------
if [ -f "$top/config/vfio-handoff.conf" ]; then
	d=$work/edited
	runb "$d"
	echo "timeout = 5" >>"$d/etc/vfio-handoff/vfio-handoff.conf"
	runb "$d"
	check "re-install keeps an edited vfio-handoff.conf" grep -q "timeout = 5" "$d/etc/vfio-handoff/vfio-handoff.conf"
	runb "$d" --uninstall
	check "--uninstall keeps an edited vfio-handoff.conf" grep -q "timeout = 5" "$d/etc/vfio-handoff/vfio-handoff.conf"
fi

# --- qemu.d mode -----------------------------------------------------------------------
d=$work/qemud
mkdir -p "$d/etc/libvirt/hooks"
printf '#!/bin/sh\nexit 0\n' >"$d/etc/libvirt/hooks/qemu"
chmod 0755 "$d/etc/libvirt/hooks/qemu"
before=$(snap "$d")
runb "$d" --qemu-d
check "--qemu-d installs hooks/qemu.d/vfio-handoff beside a foreign hooks/qemu: exit 0" \
	eval '[ $rc -eq 0 ] && cmp -s "$d/etc/libvirt/hooks/qemu.d/vfio-handoff" "$B/vfio-handoff-hook" && [ "$(mode "$d/etc/libvirt/hooks/qemu.d/vfio-handoff")" = 755 ]'
check "... and leaves the foreign hooks/qemu alone" grep -q 'exit 0' "$d/etc/libvirt/hooks/qemu"
runb "$d" --qemu-d=50-gpu
check "--qemu-d=NAME moves our hook to qemu.d/NAME: only one copy of ours" \
	eval '[ $rc -eq 0 ] && [ -x "$d/etc/libvirt/hooks/qemu.d/50-gpu" ] && [ ! -e "$d/etc/libvirt/hooks/qemu.d/vfio-handoff" ]'
runb "$d" --uninstall
check "--uninstall after qemu.d installs: the tree is as before" [ "$(snap "$d")" = "$before" ]

d=$work/qemud2
mkdir -p "$d/etc/libvirt/hooks/qemu.d"
printf '#!/bin/sh\nexit 0\n' >"$d/etc/libvirt/hooks/qemu.d/vfio-handoff"
chmod 0755 "$d/etc/libvirt/hooks/qemu.d/vfio-handoff"
before=$(snap "$d")
runb "$d" --qemu-d
check "a foreign qemu.d/vfio-handoff is refused (exit 3)" eval '[ $rc -eq 3 ] && [ "$(snap "$d")" = "$before" ]'
runb "$d" --qemu-d --force
check "--force keeps its backup outside qemu.d/ (libvirt would run it there)" \
	eval '[ $rc -eq 0 ] && [ -z "$(ls "$d/etc/libvirt/hooks/qemu.d" | grep -v "^vfio-handoff$")" ] && [ -f "$d/etc/libvirt/hooks/qemu.d.vfio-handoff.vfio-handoff-backup" ]'
runb "$d" --uninstall
check "--uninstall restores it" [ "$(snap "$d")" = "$before" ]

# Switching from qemu.d back to the plain hook.
d=$work/switch
runb "$d" --qemu-d
runb "$d"
check "re-install without --qemu-d moves the hook back to hooks/qemu (one copy)" \
	eval '[ $rc -eq 0 ] && [ -x "$d/etc/libvirt/hooks/qemu" ] && [ ! -e "$d/etc/libvirt/hooks/qemu.d/vfio-handoff" ]'
mkdir -p "$d/etc/libvirt/hooks/qemu.d"
cp "$B/vfio-handoff-hook" "$d/etc/libvirt/hooks/qemu.d/stray"
runb "$d"
check "our hook installed elsewhere by hand is refused (it would run twice): exit 3" [ $rc -eq 3 ]
rm -f "$d/etc/libvirt/hooks/qemu.d/stray"

# --- the Debian package installed ------------------------------------------------------
dp=$work/package
mkdir -p "$dp/etc/libvirt/hooks/qemu.d"
ln -s /usr/sbin/vfio-handoff-hook "$dp/etc/libvirt/hooks/qemu.d/vfio-handoff"
before=$(snap "$dp")
runb "$dp"
check "the Debian package's hook in place: refused (exit 3), one line naming the package" \
	eval '[ $rc -eq 3 ] && [ "$(err_lines)" -eq 1 ] && grep -q "Debian package" "$work/err" && [ "$(snap "$dp")" = "$before" ]'
runb "$dp" --qemu-d --force
check "... even with --qemu-d --force" eval '[ $rc -eq 3 ] && [ "$(snap "$dp")" = "$before" ]'

# --- uninstall while a VM holds devices ------------------------------------------------
mkdir -p "$d/run/vfio-handoff"
echo x >"$d/run/vfio-handoff/win10.journal"
runb "$d" --uninstall
check "--uninstall while a VM's journal exists is refused (exit 3), naming the VM" \
	eval '[ $rc -eq 3 ] && grep -q win10 "$work/err" && [ -x "$d/etc/libvirt/hooks/qemu" ]'
runb "$d" --uninstall --force
check "--uninstall --force goes ahead" eval '[ $rc -eq 0 ] && [ ! -e "$d/etc/libvirt/hooks/qemu" ]'

# --- not root ----------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 0755 "$work"
	# uid 65534 may not reach the checkout (root's own clone under /root is mode 0700):
	# it runs a copy of what install.sh reads, in a place it can read.
	pub=$work/pub
	mkdir -p "$pub/build" "$pub/src"
	cp "$inst" "$pub/" && cp -r "$top/config" "$pub/" && cp "$top"/src/*.8 "$pub/src/" &&
		cp "$B"/vfio-handoff "$B"/vfio-handoff-hook "$B"/vfio-handoff-hook-engine "$pub/build/"
	chmod -R a+rX "$pub"
	inst=$pub/install.sh B=$pub/build
	env -u DESTDIR PATH=$fakebin:$PATH setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$inst" --build-dir "$B" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
	check "not root and no DESTDIR: exit 1, one line, saying root is needed" \
		eval '[ $rc -eq 1 ] && [ "$(err_lines)" -eq 1 ] && grep -q root "$work/err"'
	d=$work/nobody
	mkdir -p "$d" && chown 65534:65534 "$d"
	DESTDIR=$d PATH=$fakebin:$PATH setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$inst" --build-dir "$B" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
	check "not root with a DESTDIR it owns: exit 0" [ $rc -eq 0 ]
	DESTDIR=$d PATH=$fakebin:$PATH setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$inst" --uninstall </dev/null >"$work/out" 2>"$work/err"
	check "... and its --uninstall leaves nothing" eval '[ $? -eq 0 ] && [ -z "$(ls -A "$d")" ]'
	inst=$top/install.sh B=$B_checkout
fi

# --- building when needed --------------------------------------------------------------
if [ "$B" = "$top/build" ] && make -C "$top" -q binaries >/dev/null 2>&1; then
	d=$work/default
	run "$d"
	check "without --build-dir it uses build/ (up to date: no rebuild)" \
		eval '[ $rc -eq 0 ] && cmp -s "$d/etc/libvirt/hooks/qemu" "$top/build/vfio-handoff-hook" && ! grep -q Building "$work/out"'
else
	ok "# SKIP default build dir (B is not build/ or it is out of date)"
fi

check "no daemon was ever restarted or signalled" [ ! -e "$work/called" ]
echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
