#!/bin/bash
# make check: the unit tier, the real-kernel tier and the real-libvirt tier, in that
# order, and one closing line "N passed, N failed" over all of them.
set -u
B=${B:-build}
total_p=0; total_f=0; rc=0
run_tier() {
	local name=$1; shift
	local log; log=$(mktemp)
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	local st=${PIPESTATUS[0]}
	local line; line=$(grep -E '([0-9]+) passed, ([0-9]+) failed' "$log" | tail -1)
	local p f
	p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.*\b([0-9]+) failed.*/\1/' <<<"$line")
	[ -n "$line" ] || { p=0; f=1; }
	[ "$st" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	total_p=$((total_p + p)); total_f=$((total_f + f))
	[ "$st" -eq 0 ] || rc=1
	rm -f "$log"
}
run_tier unit tests/unit/run.sh "$B" "$@"
if [ "${VH_SKIP_VM:-0}" != 1 ]; then
	run_tier real-kernel tests/vm/run.sh
	[ -x tests/libvirt/run.sh ] && run_tier real-libvirt tests/libvirt/run.sh
fi
echo "$total_p passed, $total_f failed"
exit $rc
