#!/bin/bash
# make check: the unit tier, the real-kernel tier and the real-libvirt tier, and one closing
# line "N passed, N failed" over all of them.
#
# The tiers run side by side so a 2-core machine stays busy: the guests' cache (kernel,
# initramfs) is prepared while the unit tier runs, then the real-kernel tier (two guests at
# a time) and the real-libvirt tier (one guest) boot together. Each tier's output is kept
# and printed whole, in that order, as it finishes, with its wall time.
#   VH_SKIP_VM=1     the unit tier only
#   VH_SERIAL=1      one tier after the other (for reading a tier's output live)
set -u
B=${B:-build}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 2
now() { date +%s.%N | cut -c1-14; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t_start=$(now)
logs=$(mktemp -d /tmp/vh-check.XXXXXX)
trap 'rm -rf "$logs"' EXIT

total_p=0 total_f=0 rc=0
# tier NAME CMD...: runs one tier into its log, and its status, start and end times beside.
tier() {
	local name=$1 s st
	shift
	s=$(now)
	"$@" >"$logs/$name.log" 2>&1 </dev/null
	st=$?
	echo "$st $s $(now)" >"$logs/$name.done"
	return $st
}
# report NAME: the tier's output, its wall time, and its counts added to the totals.
report() {
	local name=$1 st s e line p f
	read -r st s e <"$logs/$name.done"
	echo "== $name ($(elapsed "$s" "$e") s)"
	cat "$logs/$name.log"
	line=$(grep -E '([0-9]+) passed, ([0-9]+) failed' "$logs/$name.log" | tail -1)
	p=$(sed -nE 's/.*\b([0-9]+) passed.*/\1/p' <<<"$line")
	f=$(sed -nE 's/.*\b([0-9]+) failed.*/\1/p' <<<"$line")
	if [ -z "$line" ]; then
		echo "$name: no summary line (exit $st)"
		p=0 f=1
	fi
	[ "$st" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	total_p=$((total_p + p)) total_f=$((total_f + f))
	[ "$st" -eq 0 ] || rc=1
}

if [ "${VH_SKIP_VM:-0}" = 1 ]; then
	tier unit tests/unit/run.sh "$B" "$@"
	report unit
elif [ "${VH_SERIAL:-0}" = 1 ]; then
	tier unit tests/unit/run.sh "$B" "$@"; report unit
	tier real-kernel tests/vm/run.sh; report real-kernel
	tier real-libvirt tests/libvirt/run.sh; report real-libvirt
else
	# The cache first (a download on a fresh machine), beside the unit tier; then both
	# guest tiers at once. A failed preparation is reported by the tiers themselves.
	echo "check: unit tier running; the guests' kernel and initramfs being prepared"
	(
		# shellcheck source=tests/vm/lib/host.sh
		. tests/vm/lib/host.sh
		vh_prepare_cache
	) >"$logs/cache.log" 2>&1 &
	cache=$!
	tier unit tests/unit/run.sh "$B" "$@" &
	unit=$!
	wait $cache || { echo "check: preparing the guests failed:"; cat "$logs/cache.log"; }
	echo "check: real-kernel and real-libvirt tiers booting their guests"
	tier real-kernel tests/vm/run.sh &
	vm=$!
	tier real-libvirt tests/libvirt/run.sh &
	lv=$!
	wait $unit
	report unit
	wait $vm
	report real-kernel
	wait $lv
	report real-libvirt
fi
echo "check: $(elapsed "$t_start" "$(now)") s in all"
echo "$total_p passed, $total_f failed"
exit $rc
