#!/bin/bash
# The seams that put a fake kernel, fake signals and a fixture's programs behind the real
# calls exist only in test builds: the installed hook, engine and command, and the engine
# library they are built from, carry none of them. Reads the symbol tables. TAP-style.
B=${B:-build}
check() { if eval "$2"; then echo "ok $1"; else echo "not ok $1"; fi; }
seams='kernel_ops_set|holders_set_kill|spawn_allow_fixture|journal_io_set'
for f in "$B/libengine.a" "$B/vfio-handoff-hook" "$B/vfio-handoff-hook-engine" "$B/vfio-handoff"; do
	check "$(basename "$f") exists" '[ -e "$f" ]'
	check "$(basename "$f") has no test seam" '! nm "$f" 2>/dev/null | grep -qwE "$seams"'
done
check "the test library has them (the check can see them)" \
	'nm "$B/libengine-test.a" 2>/dev/null | grep -qw kernel_ops_set'
# The fault switch of the real-kernel tier (VFIO_HANDOFF_FAULT: SIGKILL at step K, a module
# that will not unload) is compiled only with VH_FAULTS or VH_TEST_SEAMS. Reading it needs
# its name, so a release program without the string cannot act on it. Its only effect is
# on an acting prepare, so the behaviour is shown on a real kernel, in the guest: the
# real-kernel scenario release-ignores-faults hands over and back with it set.
for f in "$B/libengine.a" "$B/vfio-handoff-hook" "$B/vfio-handoff-hook-engine" "$B/vfio-handoff"; do
	check "$(basename "$f") does not read VFIO_HANDOFF_FAULT" \
		'[ -e "$f" ] && ! grep -aq VFIO_HANDOFF_FAULT "$f"'
done
check "the test library reads it (the check can see it)" \
	'grep -aq VFIO_HANDOFF_FAULT "$B/libengine-test.a"'
