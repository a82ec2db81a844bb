#!/bin/bash
# The bash completion (config/bash-completion/vfio-handoff) as bash calls it, on a fake
# tree given with --root and a fake virsh: commands, options per command, VM names
# (opted-in, holding, libvirt's), PCI addresses in a --devices list. TAP-style.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
comp=$top/config/bash-completion/vfio-handoff
work=$(mktemp -d /tmp/vh-completion-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

# The tree: two opted-in VMs, one VM holding devices without a file, three devices.
R=$work/root
mkdir -p "$R/etc/vfio-handoff/vm.d" "$R/run/vfio-handoff" "$R/sys/bus/pci/devices"
: >"$R/etc/vfio-handoff/vm.d/win10.conf"
: >"$R/etc/vfio-handoff/vm.d/gpu-a.conf"
: >"$R/etc/vfio-handoff/vm.d/.hidden.conf"
: >"$R/run/vfio-handoff/old-vm.journal"
for d in 0000:00:02.0 0000:01:00.0 0000:01:00.1; do mkdir "$R/sys/bus/pci/devices/$d"; done
# libvirt's domains, from a virsh that answers only a read-only list.
mkdir -p "$work/bin"
cat >"$work/bin/virsh" <<'EOF'
#!/bin/sh
echo "$*" >>"${0%/*}/virsh.args"
case " $* " in *" list --all --name "*) printf 'win10\nlinux-vm\n\n' ;; *) exit 1 ;; esac
EOF
chmod +x "$work/bin/virsh"
export PATH=$work/bin:$PATH

# shellcheck source=config/bash-completion/vfio-handoff
. "$comp" || { nok "the completion file loads"; echo "0 passed, 1 failed"; exit 1; }
complete -p vfio-handoff 2>/dev/null | grep -q -- '-F _vfio_handoff' &&
	ok "it registers _vfio_handoff for vfio-handoff" || nok "it registers _vfio_handoff for vfio-handoff"

# comp LINE: COMPREPLY for the cursor at the end of LINE, sorted, on one line.
comp() {
	COMP_LINE=$1
	COMP_POINT=${#1}
	read -ra COMP_WORDS <<<"$1"
	[[ $1 == *' ' ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_vfio_handoff vfio-handoff "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | LC_ALL=C sort | paste -sd' ')
}
expect() { # expect LINE WANT
	comp "$1"
	if [ "$got" = "$2" ]; then ok "'$1' -> '$2'"; else nok "'$1' -> '$2' (got '$got')"; fi
}

expect "vfio-handoff " "check disable enable groups list plan prepare recover release status"
expect "vfio-handoff di" "disable"
expect "vfio-handoff --root $R l" "list"
expect "vfio-handoff enable --" "--connect --devices --help --root --strict --verbose --xml"
expect "vfio-handoff prepare win10 --" "--dry-run --help --root --verbose --xml"
expect "vfio-handoff status --" "--help --root --verbose"
expect "vfio-handoff --root $R disable " "gpu-a win10"
expect "vfio-handoff --root $R release " "gpu-a old-vm win10"
expect "vfio-handoff --root $R enable " "gpu-a linux-vm win10"
expect "vfio-handoff --root=$R enable li" "linux-vm"
expect "vfio-handoff --root $R disable win10 " ""
expect "vfio-handoff --root $R enable win10 --devices " "0000:00:02.0 0000:01:00.0 0000:01:00.1"
# Bash replaces what follows the last ':' of the word, so that is what comes back.
expect "vfio-handoff --root $R enable win10 --devices 0000:01:" "00.0 00.1"
expect "vfio-handoff --root $R enable win10 --devices 0000:01:00.0,0000:0" "00:02.0 01:00.0 01:00.1"
expect "vfio-handoff --root $R enable win10 --devices 0000:01:00.0,0000:01:00." "00.0 00.1"
expect "vfio-handoff --root $R enable win10 --devices=0000:00" "00:02.0"
expect "vfio-handoff enable win10 --connect qemu:///s" "///session ///system"
grep -qx -- '-r -c qemu:///system list --all --name' "$work/bin/virsh.args" &&
	ok "libvirt is asked read-only, at the command's default URI" ||
	nok "libvirt is asked read-only, at the command's default URI"
: >"$work/bin/virsh.args"
expect "vfio-handoff --root $R --connect qemu:///session plan " "gpu-a linux-vm win10"
grep -q -- '-c qemu:///session' "$work/bin/virsh.args" &&
	ok "--connect on the line goes to virsh" || nok "--connect on the line goes to virsh"
# A virsh that hangs does not hang the shell.
if command -v timeout >/dev/null; then
	printf '#!/bin/sh\nexec sleep 30\n' >"$work/bin/virsh"
	t0=$SECONDS
	expect "vfio-handoff --root $R plan " "gpu-a win10"
	[ $((SECONDS - t0)) -lt 10 ] && ok "a virsh that hangs is given up on" ||
		nok "a virsh that hangs is given up on ($((SECONDS - t0)) s)"
fi

echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
