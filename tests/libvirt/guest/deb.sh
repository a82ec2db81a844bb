# The Debian package in the real-libvirt guest, sourced by scenarios.sh once its own
# scenarios are done (libvirtd running, install.sh's copy uninstalled): dpkg -i beside a
# foreign hooks/qemu, enable/list/disable, the virsh scenarios on the package's hook,
# removal refused while a VM holds devices, then remove and purge: nothing of ours left,
# the foreign hooks as they were, the administrator's opt-in file kept.
# Uses scenarios.sh's helpers (check, run, vstart, snap, same, ...).

PKG=vfio-handoff
PKG_DEB=$(ls $OUT/pkg/vfio-handoff_*.deb 2>/dev/null | head -n 1)
PKG_HOOK=/etc/libvirt/hooks/qemu.d/vfio-handoff
PKG_ENGINE=/etc/libvirt/hooks/vfio-handoff/hook-engine
ADMIN_D_HOOK=/etc/libvirt/hooks/qemu.d/10-admin

pkg_status() { dpkg-query -W -f='${db:Status-Status}' $PKG 2>/dev/null; }
pkg_installed() { [ "$(pkg_status)" = installed ]; }
# dpkg with no terminal and nothing asked (the guest has no debconf frontend to talk to).
pkg() { DEBIAN_FRONTEND=noninteractive dpkg --force-confnew "$@" </dev/null; }

section "the Debian package"
if [ -z "$PKG_DEB" ]; then
	vh_ok "# SKIP no .deb for this run (make deb-package; the host's userland only)"
	return 0
fi
info "package ${PKG_DEB##*/}"
# The host's dpkg database, read-only, under a writable overlay: dpkg sees what the
# host's /usr holds (libvirt, libxml2, libpci, libkmod) and records our package there.
mkdir -p /lower-dpkg /var/lib/dpkg /tmp/dpkg-ov.u /tmp/dpkg-ov.w
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=none dpkg /lower-dpkg &&
	mount -t overlay -o lowerdir=/lower-dpkg,upperdir=/tmp/dpkg-ov.u,workdir=/tmp/dpkg-ov.w \
		ov-dpkg /var/lib/dpkg ||
	vh_die "cannot mount the host's dpkg database"
mkdir -p /var/log /var/cache/debconf /var/lib/dpkg/updates
check "the package is not installed yet" eval '! pkg_installed'

# The administrator's own hooks: hooks/qemu and one in qemu.d/. Both must stay as they are.
HOOK=/etc/libvirt/hooks/qemu
mkdir -p /etc/libvirt/hooks/qemu.d
printf '#!/bin/sh\n# the admin'"'"'s own hook\ncat >/dev/null\nexit 0\n' >$HOOK
printf '#!/bin/sh\n# the admin'"'"'s qemu.d hook\ncat >/dev/null\nexit 0\n' >$ADMIN_D_HOOK
chmod 0755 $HOOK $ADMIN_D_HOOK
foreign=$(sha256sum $HOOK $ADMIN_D_HOOK)

# A file of someone else's at the package's place: refused, left as it was.
printf '#!/bin/sh\nexit 0\n' >$PKG_HOOK
chmod 0755 $PKG_HOOK
run pkg-refused pkg -i "$PKG_DEB"
check "dpkg -i is refused while $PKG_HOOK is not the package's (exit $RC)" \
	eval '[ $RC -ne 0 ] && ! pkg_installed'
show "dpkg: " $W/pkg-refused.err
check "... its message names $PKG_HOOK" grep -q "vfio-handoff: $PKG_HOOK exists and is not" $W/pkg-refused.err
check "... and the file is as it was" eval '[ ! -L $PKG_HOOK ] && grep -q "exit 0" $PKG_HOOK'
rm -f $PKG_HOOK

run pkg-install pkg -i "$PKG_DEB"
# The shell remembers where it last found vfio-handoff (install.sh's /usr/local/bin).
hash -r
TIMES+=("dpkg -i: $(secs $MS)")
check "dpkg -i installs it (exit $RC)" eval '[ $RC -eq 0 ] && pkg_installed'
[ $RC -ne 0 ] && show "dpkg: " $W/pkg-install.err
show "" $W/pkg-install.out
check "... its hook is $PKG_HOOK, the package's program" \
	eval '[ "$(readlink $PKG_HOOK)" = /usr/sbin/vfio-handoff-hook ] && [ -x $PKG_HOOK ]'
check "... the engine is where the hook looks for it" \
	eval '[ "$(readlink -f $PKG_ENGINE)" = /usr/sbin/vfio-handoff-hook-engine ]'
check "... libvirtd is told the way install.sh tells it (SIGHUP, no service manager)" \
	grep -q 'sent SIGHUP to libvirtd' $W/pkg-install.out
check "... the administrator's hooks are untouched" eval '[ "$(sha256sum $HOOK $ADMIN_D_HOOK)" = "$foreign" ]'
check "... the command, man page, completion and examples are in place" \
	eval '[ -x /usr/bin/vfio-handoff ] && [ -e /usr/share/man/man8/vfio-handoff.8.gz ] && [ -f /usr/share/bash-completion/completions/vfio-handoff ] && [ -f /usr/share/doc/vfio-handoff/examples/vm.d-example.conf ]'
check "... /etc/vfio-handoff/vfio-handoff.conf is a conffile" \
	eval 'dpkg-query -W -f="\${Conffiles}" $PKG | grep -q /etc/vfio-handoff/vfio-handoff.conf'
daemon_alive
vh_wait 10 eval 'virsh version >/dev/null 2>&1'
check "... libvirtd still answers" eval 'virsh version >/dev/null 2>&1'

# The opt-in files the earlier scenarios left: listed, then taken away with disable.
run pkg-list0 vfio-handoff list
check "vfio-handoff list shows the VMs opted in before (gpu-a, gpu-b)" \
	eval '[ $RC -eq 0 ] && grep -q "^VM gpu-a$" $W/pkg-list0.out && grep -q "^VM gpu-b$" $W/pkg-list0.out'
dis_ok=1
for f in /etc/vfio-handoff/vm.d/*.conf; do
	[ -e "$f" ] || continue
	v=${f##*/}
	v=${v%.conf}
	vfio-handoff disable "$v" >$W/pkg-disable.out 2>&1 && grep -q "^disabled VM '$v'" $W/pkg-disable.out || dis_ok=0
done
check "vfio-handoff disable takes each of them out, one line each" \
	eval '[ $dis_ok = 1 ] && [ -z "$(ls /etc/vfio-handoff/vm.d)" ]'

# Settings for every VM here: no display manager in this guest, a short wait for holders.
printf 'display-manager = none\ntimeout = 4\n' >>/etc/vfio-handoff/vfio-handoff.conf

# =========================================================================================
section "the package's hook: enable (libvirt's XML), virsh start and destroy"
define pkg-a yes $VGA
snap $W/pkga.before
run pkg-enable vfio-handoff enable pkg-a
check "vfio-handoff enable pkg-a (XML from libvirt) exits 0" [ $RC -eq 0 ]
show "" $W/pkg-enable.out
[ $RC -ne 0 ] && show "" $W/pkg-enable.err
check "... it prints the plan and one closing line" \
	eval 'grep -q "^steps:" $W/pkg-enable.out && [ "$(tail -n 1 $W/pkg-enable.out | cut -d" " -f1-3)" = "enabled VM '"'"'pkg-a'"'"':" ]'
check "... vm.d/pkg-a.conf is root's, mode 0644" \
	eval '[ "$(stat -c "%U %a" /etc/vfio-handoff/vm.d/pkg-a.conf)" = "root 644" ]'
run pkg-enable-none vfio-handoff enable no-such-vm
check "enable of a VM libvirt does not know fails in one line" \
	eval '[ $RC -eq 1 ] && [ "$(wc -l <$W/pkg-enable-none.err)" = 1 ] && grep -q no-such-vm $W/pkg-enable-none.err'
vstart pkg-a
check "virsh start pkg-a" [ $RC -eq 0 ]
check "the whole group is on vfio-pci ($(drivers))" all_on vfio-pci
check "pkg-a's QEMU holds /dev/vfio/$VH_GROUP" qemu_holds_group pkg-a
run pkg-list1 vfio-handoff list
check "vfio-handoff list: pkg-a holds the 3 devices" grep -q 'state:   holds 3 device(s)' $W/pkg-list1.out
run pkg-disable-busy vfio-handoff disable pkg-a
check "disable pkg-a is refused while it holds devices, in one line naming it" \
	eval '[ $RC -eq 1 ] && [ "$(wc -l <$W/pkg-disable-busy.err)" = 1 ] && grep -q "pkg-a" $W/pkg-disable-busy.err && [ -f /etc/vfio-handoff/vm.d/pkg-a.conf ]'

run pkg-remove-busy pkg -r $PKG
check "dpkg -r is refused while pkg-a holds devices (exit $RC)" eval '[ $RC -ne 0 ] && pkg_installed'
show "dpkg: " $W/pkg-remove-busy.err
check "... naming pkg-a" grep -q 'vfio-handoff: not removed: VM(s) pkg-a hold devices' $W/pkg-remove-busy.err
check "... the hook is still in place" eval '[ -x $PKG_HOOK ] && [ -x /usr/bin/vfio-handoff ]'

# Two VMs share the GPU: the second start fails naming the first.
define pkg-b yes $VGA
run pkg-enable-b vfio-handoff enable pkg-b
check "enable pkg-b (the same GPU) while pkg-a runs" [ $RC -eq 0 ]
vstart pkg-b
check "virsh start pkg-b fails while pkg-a runs, naming it" \
	eval '[ $RC -ne 0 ] && grep "vfio-handoff: " $W/start-pkg-b.err | grep -q pkg-a'
vdestroy pkg-a
check "virsh destroy pkg-a" [ $RC -eq 0 ]
vh_wait 10 no_journal
snap $W/pkga.after
same $W/pkga.before $W/pkga.after "pkg-a destroyed"

# =========================================================================================
section "the package's hook: enable --devices --strict, managed='no', all three functions"
define pkg-all no $VH_FUNCS
run pkg-enable-all vfio-handoff enable pkg-all --strict --devices "$(echo $VH_FUNCS | tr ' ' ,)"
check "enable pkg-all --strict --devices (the whole group)" [ $RC -eq 0 ]
[ $RC -ne 0 ] && show "" $W/pkg-enable-all.err
check "... its file names the devices and group = strict" \
	eval 'grep -q "^devices = $VH_FUNCS\$" /etc/vfio-handoff/vm.d/pkg-all.conf && grep -q "^group = strict\$" /etc/vfio-handoff/vm.d/pkg-all.conf'
snap $W/pkgall.before
vstart pkg-all
check "virsh start pkg-all" [ $RC -eq 0 ]
check "the whole group is on vfio-pci" all_on vfio-pci
vdestroy pkg-all
check "virsh destroy pkg-all" [ $RC -eq 0 ]
vh_wait 10 no_journal
snap $W/pkgall.after
same $W/pkgall.before $W/pkgall.after "pkg-all destroyed"

# =========================================================================================
section "the package's hook: prepare fails, a process holds /dev/dri/$CARD"
sleep 600 3</dev/dri/$CARD &
holder=$!
vh_wait 5 test -e /proc/$holder/fd/3 || vh_fail "the holder did not open /dev/dri/$CARD"
snap $W/pkgheld.before
vstart pkg-b
check "virsh start pkg-b fails" [ $RC -ne 0 ]
check "... its error is our one line, naming the holder" \
	eval '[ "$(grep -o "vfio-handoff: " $W/start-pkg-b.err | wc -l)" = 1 ] && grep "vfio-handoff: " $W/start-pkg-b.err | grep -qE "\\b$holder\\b|sleep"'
snap $W/pkgheld.after
same $W/pkgheld.before $W/pkgheld.after "after the failed start"
kill $holder
wait $holder 2>/dev/null

# =========================================================================================
section "dpkg -r, then dpkg -P"
files=$(dpkg-query -L $PKG)
vfio-handoff disable pkg-a >/dev/null && vfio-handoff disable pkg-all >/dev/null ||
	vh_fail "disable pkg-a and pkg-all"
# pkg-b stays opted in: the administrator's file, which purge must keep.
run pkg-remove pkg -r $PKG
hash -r
check "dpkg -r (exit $RC)" eval '[ $RC -eq 0 ] && [ "$(pkg_status)" = config-files ]'
[ $RC -ne 0 ] && show "dpkg: " $W/pkg-remove.err
check "... the hook, its engine and the command are gone" \
	eval '[ ! -e $PKG_HOOK ] && [ ! -L $PKG_HOOK ] && [ ! -e /etc/libvirt/hooks/vfio-handoff ] && [ ! -e /usr/bin/vfio-handoff ]'
check "... the conffile stays until purge" [ -f /etc/vfio-handoff/vfio-handoff.conf ]
run pkg-purge pkg -P $PKG
check "dpkg -P (exit $RC)" eval '[ $RC -eq 0 ] && [ -z "$(pkg_status)" -o "$(pkg_status)" = not-installed ]'
[ $RC -ne 0 ] && show "dpkg: " $W/pkg-purge.err
left=
for f in $files; do
	[ -d "$f" ] && continue
	{ [ -e "$f" ] || [ -L "$f" ]; } && left="$left $f"
done
check "nothing the package installed is left${left:+:$left}" [ -z "$left" ]
check "... /etc/vfio-handoff holds only the administrator's vm.d/pkg-b.conf" \
	eval '[ "$(cd /etc/vfio-handoff && find . | sort | paste -sd" ")" = ". ./vm.d ./vm.d/pkg-b.conf" ]'
check "... no /run/vfio-handoff, no hooks/vfio-handoff/, no qemu.d/vfio-handoff" \
	eval '[ ! -e /run/vfio-handoff ] && [ ! -e /etc/libvirt/hooks/vfio-handoff ] && [ ! -e $PKG_HOOK ]'
check "... the administrator's hooks are as they were" eval '[ "$(sha256sum $HOOK $ADMIN_D_HOOK)" = "$foreign" ]'
snap $W/pkg.end
same $W/boot.state $W/pkg.end "after the package's scenarios, compared with boot"
rm -rf /etc/vfio-handoff $ADMIN_D_HOOK $HOOK
