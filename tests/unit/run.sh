#!/bin/bash
# Runs the unit tier: every cmocka test binary and every tests/unit/*.sh check, then
# prints one summary line "N passed, N failed".
set -u
B=${1:?build dir}; shift
pass=0; fail=0; failed=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
for t in "$@" tests/unit/*.sh; do
	case $t in */run.sh) continue ;; esac
	[ -e "$t" ] || continue
	log=$(mktemp)
	if [ "${t%.sh}" != "$t" ]; then
		B="$B" bash "$t" >"$log" 2>&1; rc=$?
	else
		"$t" >"$log" 2>&1; rc=$?
	fi
	# cmocka: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	if [ "${t%.sh}" != "$t" ]; then
		p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
	fi
	p=${p:-0}; f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		failed+=("$t"); echo "FAIL $t"; sed 's/^/    /' "$log"
	else
		echo "ok   $t ($p)"
	fi
	rm -f "$log"
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
