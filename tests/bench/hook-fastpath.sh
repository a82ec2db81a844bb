#!/bin/bash
# Benchmark: what a hook call costs libvirt for a VM that did not opt in (every VM on most
# hosts, on every operation), against exec'ing /bin/true. The budget is 2x.
# Usage: tests/bench/hook-fastpath.sh [CALLS]   (builds an optimized, unsanitized hook)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-2000}
B=build-bench
make -s B=$B SAN=0 CI= "$B/vfio-handoff-hook" "$B/vfio-handoff-hook-engine" >/dev/null
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc/vfio-handoff/vm.d"
xml='<domain type="kvm"><name>other</name><devices/></domain>'

run() { # command... ; prints nanoseconds per call
	local t0 t1
	t0=$(date +%s%N)
	for ((i = 0; i < n; i++)); do "$@" <<<"$xml" >/dev/null 2>&1; done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / n))
}

true_ns=$(run /bin/true)
prep_ns=$(run "$B/vfio-handoff-hook" --root "$root" other prepare begin -)
start_ns=$(run "$B/vfio-handoff-hook" --root "$root" other start begin -)
printf '%-44s %8d us/call\n' "/bin/true" $((true_ns / 1000))
printf '%-44s %8d us/call  (%s x /bin/true)\n' "hook, VM not opted in, prepare begin" \
	$((prep_ns / 1000)) "$(awk "BEGIN{printf \"%.2f\", $prep_ns/$true_ns}")"
printf '%-44s %8d us/call  (%s x /bin/true)\n' "hook, any VM, start begin (not acted on)" \
	$((start_ns / 1000)) "$(awk "BEGIN{printf \"%.2f\", $start_ns/$true_ns}")"
