#!/bin/bash
# Runs every fuzz target (built by `make fuzz-binaries` into DIR/fuzz-TARGET) for SECONDS
# each, one after the other, on one core each: its seed corpus (tests/fuzz/corpus/TARGET/,
# read only) and what earlier runs found (DIR/TARGET/corpus/, where new inputs go), with
# its dictionary. A crash, a sanitizer report, a leak, an input running over 10 s or a
# process over 2 GiB fails the target; its input is kept as DIR/TARGET/crash-* (leak-*,
# timeout-*, oom-*). One line per target with its executions, coverage (libFuzzer's cov:
# and ft:) and crashes, then "fuzz: N passed, N failed".
#   tests/fuzz/run.sh [DIR [SECONDS [TARGET...]]]   defaults: $B/fuzz (build/fuzz),
#                                                   $VH_FUZZ_TIME or 30, every target
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(realpath -m "${1:-${B:-build}/fuzz}")
secs=${2:-${VH_FUZZ_TIME:-30}}
shift 2 2>/dev/null || shift $#
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(domxml config journal bdf names)
case $secs in '' | *[!0-9]*) echo "fuzz: SECONDS must be a whole number, not '$secs'" >&2; exit 2 ;; esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# The longest input tried, per target: a domain XML of a few KiB to a few times that, a
# configuration of a few lines, a journal of a few dozen entries, an address, a name.
max_len() {
	case $1 in
	domxml) echo 16384 ;;
	config | journal) echo 8192 ;;
	bdf) echo 64 ;;
	names) echo 512 ;;
	*) echo 4096 ;;
	esac
}

pass=0 fail=0
echo "fuzz: ${#targets[@]} targets, $secs s each (libFuzzer, ASan+UBSan); findings in $dir/TARGET/"
for t in "${targets[@]}"; do
	bin=$dir/fuzz-$t out=$dir/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL $t: $bin not built (make fuzz-binaries)"
		fail=$((fail + 1))
		continue
	fi
	mkdir -p "$out/corpus"
	dict=()
	[ -f "$REPO/tests/fuzz/$t.dict" ] && dict=("-dict=$REPO/tests/fuzz/$t.dict")
	touch "$out/.start"
	start=$(date +%s)
	# -jobs=1 -workers=1: one fuzzing process on one core; its output goes to fuzz-0.log
	# in the working directory, which libFuzzer then prints. The outer timeout is a
	# backstop for a process libFuzzer itself cannot stop.
	(cd "$out" && rm -f fuzz-0.log && timeout -k 10 $((secs + 120)) "$bin" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
		-jobs=1 -workers=1 -print_final_stats=1 -artifact_prefix="$out/" "${dict[@]}" \
		"$out/corpus" "$REPO/tests/fuzz/corpus/$t") >"$out/run.log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$out/run.log" | tail -1)
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE ' "$out/run.log" | tail -1)
	cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
	ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
	corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$done_line")
	found=$(find "$out" -maxdepth 1 -newer "$out/.start" \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
	crashes=$(grep -c . <<<"$found")
	summary="${runs:-?} runs in $took s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, $crashes crashes"
	if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] && [ -n "$done_line" ]; then
		echo "ok   $t: $summary"
		pass=$((pass + 1))
	else
		echo "FAIL $t: $summary (exit $rc)"
		for f in $found; do echo "    input: $f"; done
		grep -E -A30 '^==[0-9]+==ERROR|SUMMARY:|fuzz_assert|runtime error|ALARM|out-of-memory' \
			"$out/run.log" | head -60 | sed 's/^/    /'
		echo "    whole log: $out/run.log"
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
