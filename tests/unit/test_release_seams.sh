#!/bin/bash
# The seams that put a fake kernel, fake signals and a fixture's programs behind the real
# calls exist only in test builds: the installed hook, engine and command, and the engine
# library they are built from, carry none of them. Reads the symbol tables. TAP-style.
B=${B:-build}
check() { if eval "$2"; then echo "ok $1"; else echo "not ok $1"; fi; }
seams='kernel_ops_set|holders_set_kill|spawn_allow_fixture'
for f in "$B/libengine.a" "$B/vfio-handoff-hook" "$B/vfio-handoff-hook-engine" "$B/vfio-handoff"; do
	check "$(basename "$f") exists" '[ -e "$f" ]'
	check "$(basename "$f") has no test seam" '! nm "$f" 2>/dev/null | grep -qwE "$seams"'
done
check "the test library has them (the check can see them)" \
	'nm "$B/libengine-test.a" 2>/dev/null | grep -qw kernel_ops_set'
