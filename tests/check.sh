#!/bin/bash
# make check: the unit tier, the fuzz targets, the real-kernel tier and the real-libvirt
# tier, and one closing line "N passed, N failed" over all of them, after one line per
# configuration with its counts and wall time.
#
# The tiers run side by side so a 2-core machine stays busy: the guests' cache (kernels,
# initramfs) is prepared while the unit tier runs, then the real-kernel configurations (one
# after the other, two guests at a time) and the real-libvirt ones (one guest each) boot
# together. Each configuration's output is kept and printed whole, in the order of CONFIGS,
# with its wall time.
#   VH_SKIP_VM=1     the unit tier only
#   VH_SERIAL=1      one configuration after the other
#   VH_CONFIGS=...   only the configurations named (unit fuzz real-kernel-6.1
#                    real-kernel-6.12 real-libvirt-9 real-libvirt-11)
set -u
B=${B:-build}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 2
now() { date +%s.%N | cut -c1-14; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t_start=$(now)
logs=$(mktemp -d /tmp/vh-check.XXXXXX)
trap 'rm -rf "$logs"' EXIT

# The configurations: the unit tier, the real-kernel tier on each Debian kernel, and the
# real-libvirt tier on each libvirt generation. NAME|LABEL|COMMAND (words, env first).
CONFIGS=(
	"unit|unit (fake kernel)|tests/unit/run.sh"
	"fuzz|fuzz, libFuzzer, 30 s per target|tests/fuzz/run.sh"
	"real-kernel-6.1|real kernel, Debian 12, Linux 6.1|env VH_KERNEL=bookworm tests/vm/run.sh"
	"real-kernel-6.12|real kernel, Debian 13, Linux 6.12|env VH_KERNEL=trixie tests/vm/run.sh"
	"real-libvirt-9|real libvirt, Debian 12 userland, Linux 6.1|tests/libvirt/run.sh"
	"real-libvirt-11|real libvirt, Debian 13 userland, Linux 6.12|env VH_LIBVIRT_USERLAND=trixie tests/libvirt/run.sh"
)
# VH_CONFIGS="unit real-kernel-6.1 ...": only those (a CI split runs a subset per job).
if [ -n "${VH_CONFIGS:-}" ]; then
	picked=()
	for c in "${CONFIGS[@]}"; do
		case " $VH_CONFIGS " in *" ${c%%|*} "*) picked+=("$c") ;; esac
	done
	[ ${#picked[@]} -gt 0 ] || { echo "check: VH_CONFIGS names no configuration"; exit 2; }
	CONFIGS=("${picked[@]}")
fi
label_of() { local c; for c in "${CONFIGS[@]}"; do [ "${c%%|*}" = "$1" ] && cut -d'|' -f2 <<<"$c"; done; }
cmd_of() { local c; for c in "${CONFIGS[@]}"; do [ "${c%%|*}" = "$1" ] && cut -d'|' -f3 <<<"$c"; done; }

total_p=0 total_f=0 rc=0
# tier NAME: runs one configuration into its log, and its status, start and end times beside.
tier() {
	local name=$1 s st cmd
	read -ra cmd <<<"$(cmd_of "$name")"
	[ "$name" = unit ] && cmd+=("$B" "${unit_bins[@]}")
	[ "$name" = fuzz ] && cmd+=("$B/fuzz")
	s=$(now)
	"${cmd[@]}" >"$logs/$name.log" 2>&1 </dev/null
	st=$?
	echo "$st $s $(now)" >"$logs/$name.done"
	return $st
}
# report NAME: the tier's output, its wall time, and its counts added to the totals.
report() {
	local name=$1 st s e line p f kv
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
	# The guest kernel's exact version, as the tier printed it.
	kv=$(sed -nE -e 's/^libvirt: kernel ([^,]*), .*(libvirt [^,]*),.*/\1, \2/p' \
		-e 's/^vm: kernel ([^,]*),.*/\1/p' "$logs/$name.log" | head -1)
	matrix+=("$(printf '%-58s %4d passed %3d failed %7s s' \
		"$(label_of "$name")${kv:+ ($kv)}" "$p" "$f" "$(elapsed "$s" "$e")")")
}
matrix=()
unit_bins=("$@")

if [ "${VH_SKIP_VM:-0}" = 1 ]; then
	tier unit
	report unit
elif [ "${VH_SERIAL:-0}" = 1 ]; then
	for c in "${CONFIGS[@]}"; do
		tier "${c%%|*}"
		report "${c%%|*}"
	done
else
	# The cache first (downloads on a fresh machine), beside the unit tier; then two lanes:
	# the real-kernel configurations one after the other (two guests at a time each), and
	# beside them the real-libvirt ones (one guest each). A failed preparation is reported
	# by the tiers themselves.
	echo "check: unit tier running; the guests' kernels and initramfs being prepared"
	(
		# shellcheck source=tests/vm/lib/host.sh
		. tests/vm/lib/host.sh
		for k in $VH_KERNELS; do
			(VH_KERNEL=$k && vh_prepare_cache) || exit 1
		done
	) >"$logs/cache.log" 2>&1 &
	cache=$!
	# The fuzz targets run after the unit tier, on the core it used.
	unit=
	if [ -n "$(cmd_of unit)$(cmd_of fuzz)" ]; then
		{ [ -z "$(cmd_of unit)" ] || tier unit; [ -z "$(cmd_of fuzz)" ] || tier fuzz; } &
		unit=$!
	fi
	wait $cache || { echo "check: preparing the guests failed:"; cat "$logs/cache.log"; }
	echo "check: real-kernel and real-libvirt tiers booting their guests"
	lane() { local n; for n in "$@"; do tier "$n"; done; }
	names=()
	for c in "${CONFIGS[@]}"; do names+=("${c%%|*}"); done
	lane $(printf '%s\n' "${names[@]}" | grep '^real-kernel') &
	vm=$!
	lane $(printf '%s\n' "${names[@]}" | grep '^real-libvirt') &
	lv=$!
	if [ -n "$unit" ]; then
		wait $unit
		[ -z "$(cmd_of unit)" ] || report unit
		[ -z "$(cmd_of fuzz)" ] || report fuzz
	fi
	wait $vm
	for n in "${names[@]}"; do case $n in real-kernel*) report "$n" ;; esac; done
	wait $lv
	for n in "${names[@]}"; do case $n in real-libvirt*) report "$n" ;; esac; done
fi
echo "check: configurations tested"
printf '  %s\n' "${matrix[@]}"
echo "check: $(elapsed "$t_start" "$(now)") s in all"
echo "$total_p passed, $total_f failed"
exit $rc
