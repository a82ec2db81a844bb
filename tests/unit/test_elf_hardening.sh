#!/bin/bash
# The programs as install.sh installs them carry the hardening the Makefile adds: PIE, full
# RELRO with BIND_NOW, a stack that is not executable, the stack protector, fortified libc
# calls, and on x86-64 CET (IBT landing pads, and the IBT/SHSTK property note whenever the
# C library's start files carry one, since the linker keeps it only when every input has
# it). Reads the ELF headers, program headers, dynamic section and symbols. TAP-style.
set -u
B=${B:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $B in /*) ;; *) B=$PWD/$B ;; esac
work=$(mktemp -d /tmp/vh-elf-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
	local desc=$1; shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}

for t in readelf objdump; do
	command -v $t >/dev/null || { nok "$t is installed (binutils)"; exit 1; }
done
if ! "$top/install.sh" --destdir "$work/root" --build-dir "$B" --no-restart \
	</dev/null >"$work/out" 2>&1; then
	nok "install.sh --destdir installs the programs from $B"
	sed 's/^/# /' "$work/out"
	exit 1
fi
d=$work/root
progs=("hook:$d/etc/libvirt/hooks/qemu"
	"hook engine:$d/etc/libvirt/hooks/vfio-handoff/hook-engine"
	"command:$d/usr/local/bin/vfio-handoff")

x86=0
case $(uname -m) in x86_64 | i?86) x86=1 ;; esac
# The linker marks a program IBT/SHSTK only when every object has the note, the C
# library's start files included (Debian 12's have none).
crt_cet=0
crt=$(readlink -f "$(${CC:-cc} -print-file-name=Scrt1.o 2>/dev/null)")
[ -f "$crt" ] && readelf -nW "$crt" 2>/dev/null | grep -q 'x86 feature:.*IBT.*SHSTK' && crt_cet=1

for p in "${progs[@]}"; do
	name=${p%%:*} f=${p#*:}
	check "$name: installed ($f)" [ -f "$f" ]
	readelf -hW "$f" >"$work/h" 2>&1
	readelf -lW "$f" >"$work/l" 2>&1
	readelf -dW "$f" >"$work/d" 2>&1
	readelf --dyn-syms -W "$f" >"$work/s" 2>&1
	readelf -nW "$f" >"$work/n" 2>&1
	check "$name: ELF type DYN (position-independent executable)" \
		grep -qE '^ *Type: +DYN ' "$work/h"
	check "$name: FLAGS_1 has PIE" grep -qE '\(FLAGS_1\) +Flags:.* PIE( |$)' "$work/d"
	check "$name: a GNU_RELRO segment (RELRO)" grep -qE '^ *GNU_RELRO ' "$work/l"
	check "$name: bound now (BIND_NOW, or NOW in FLAGS/FLAGS_1): full RELRO" \
		grep -qE '\(BIND_NOW\)|\(FLAGS\) +.*BIND_NOW|\(FLAGS_1\) +Flags:.* NOW( |$)' "$work/d"
	check "$name: a GNU_STACK segment, not executable" \
		eval 'grep -qE "^ *GNU_STACK " "$work/l" && ! grep -E "^ *GNU_STACK " "$work/l" | grep -qE " RWE | E "'
	check "$name: imports __stack_chk_fail (stack protector)" \
		grep -qE ' UND __stack_chk_fail(@|$)' "$work/s"
	check "$name: imports fortified libc functions (__*_chk, _FORTIFY_SOURCE)" \
		eval 'grep -E " UND __[a-z0-9_]+_chk(@|$)" "$work/s" | grep -vq " __stack_chk_fail"'
	if [ $x86 = 0 ]; then
		ok "$name: CET # SKIP not x86"
		ok "$name: IBT/SHSTK property note # SKIP not x86"
		continue
	fi
	check "$name: main begins with endbr64 (IBT landing pad, -fcf-protection)" \
		eval 'objdump -d --disassemble=main "$f" 2>/dev/null | grep -A1 "<main>:" | grep -qw endbr64'
	if [ $crt_cet = 1 ]; then
		check "$name: .note.gnu.property has x86 IBT and SHSTK" \
			grep -qE 'x86 feature:.*IBT.*SHSTK' "$work/n"
	else
		ok "$name: IBT/SHSTK property note # SKIP the C library's start files ($crt) have none"
	fi
done
# What the linker could not keep is in our own objects: every one carries the note.
if [ $x86 = 1 ]; then
	check "every object of the engine library has the IBT/SHSTK note (-fcf-protection)" \
		eval '[ "$(readelf -nW "$B/libengine.a" | grep -c "x86 feature:.*IBT.*SHSTK")" -eq "$(ar t "$B/libengine.a" | grep -c "\.o$")" ]'
fi
