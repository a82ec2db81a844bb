#!/bin/bash
# Benchmark: what a hook call costs libvirt for a VM that did not opt in (every VM on most
# hosts, on every operation) and for an operation the hook does not act on, against
# exec'ing /bin/true. The budget is 1.2x. Blocks of CALLS calls alternate between the three,
# ROUNDS times; each figure is the median of its blocks, with the lowest and highest.
# Usage: tests/bench/hook-fastpath.sh [--hook PATH] [--true PATH] [--rounds N] [--xml FILE]
#                                     [CALLS]
#   without --hook it builds an optimized, unsanitized hook in build-bench/ and runs it
#   against an empty configuration tree (--root); with --hook (make bench's guest) it runs
#   that hook as installed, and --true a copy of /bin/true beside it (the same file system).
#   Also prints "FASTPATH NAME MEDIAN_NS MIN_NS MAX_NS" lines.
set -euo pipefail
hook= true=/bin/true rounds=10 xmlf=
while [ $# -gt 0 ]; do
	case $1 in
	--hook) hook=$2; shift 2 ;;
	--true) true=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--xml) xmlf=$2; shift 2 ;;
	*) break ;;
	esac
done
n=${1:-1000}
root_args=()
if [ -z "$hook" ]; then
	cd "$(dirname "$0")/../.."
	B=build-bench
	make -s B=$B SAN=0 CI= "$B/vfio-handoff-hook" "$B/vfio-handoff-hook-engine" >/dev/null
	hook=$B/vfio-handoff-hook
	root=$(mktemp -d)
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root/etc/vfio-handoff/vm.d"
	root_args=(--root "$root")
fi
if [ -z "$xmlf" ]; then
	xmlf=$(mktemp)
	trap 'rm -rf "${root:-}" "$xmlf"' EXIT
	echo '<domain type="kvm"><name>other</name><devices/></domain>' >"$xmlf"
fi

block() { # command... ; prints nanoseconds per call
	local t0 t1 i
	t0=$(date +%s%N)
	for ((i = 0; i < n; i++)); do "$@" <"$xmlf" >/dev/null 2>&1; done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / n))
}

names=(true prepare start)
declare -A runs=()
run_block() {
	case $1 in
	true) block "$true" ;;
	prepare) block "$hook" "${root_args[@]}" other prepare begin - ;;
	start) block "$hook" "${root_args[@]}" other start begin - ;;
	esac
}
# The order rotates from round to round, so none is always first.
for ((r = 0; r < rounds; r++)); do
	for ((i = 0; i < 3; i++)); do
		k=${names[(r + i) % 3]}
		runs[$k]+="$(run_block "$k") "
	done
done
# median min max of the numbers given
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 }
	END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	      printf "%d %d %d\n", m, v[1], v[NR] }'; }
declare -A med=()
for k in "${names[@]}"; do
	read -r m lo hi <<<"$(stats "${runs[$k]}")"
	med[$k]=$m
	echo "FASTPATH $k $m $lo $hi"
done
label() {
	case $1 in
	true) echo "/bin/true" ;;
	prepare) echo "hook, VM not opted in, prepare begin" ;;
	start) echo "hook, any VM, start begin (not acted on)" ;;
	esac
}
echo "$rounds rounds of $n calls each, median per call (lowest-highest block):"
for k in "${names[@]}"; do
	read -r m lo hi <<<"$(stats "${runs[$k]}")"
	printf '%-44s %8d us/call  (%d-%d)' "$(label $k)" $((m / 1000)) $((lo / 1000)) $((hi / 1000))
	[ "$k" = true ] || printf '  %s x /bin/true' "$(awk "BEGIN{printf \"%.2f\", $m/${med[true]}}")"
	echo
done
