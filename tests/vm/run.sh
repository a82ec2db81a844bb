#!/bin/bash
# The real-kernel tier (make check-vm): boots a Debian kernel under QEMU once per scenario in
# tests/vm/scenarios/ and runs the project's binaries against the emulated GPU inside it.
#   tests/vm/run.sh [SCENARIO...]      VH_VM_JOBS=2 guests at a time, VH_VM_KEEP=1 keeps logs
set -u
. "$(dirname "$0")/lib/host.sh"

t0=$(vh_now)
vh_prepare_cache
echo "vm: kernel $KVER, $(vh_accel | sed 's/.*accel=\([a-z]*\).*/\1/'), cache ready in" \
	"$(vh_elapsed "$t0" "$(vh_now)") s"

if [ $# -gt 0 ]; then
	scenarios=("$@")
else
	# Longest first (by their time limit), so two at a time finish together.
	mapfile -t scenarios < <(for f in "$VM_DIR"/scenarios/*.sh; do
		echo "$(vh_scenario_opt "$f" timeout 180) $(basename "$f" .sh)"
	done | sort -s -k1,1nr | cut -d' ' -f2)
fi

# One guest: the verdict goes to $OUT/NAME.result as "PASS secs" or "FAIL secs reason".
run_one() {
	local name=$1 f=$VM_DIR/scenarios/$1.sh log=$OUT/$1.log
	local fw init tmo extra s st verdict
	rm -f "$log" "$log.qemu" "$OUT/$name.result"
	if [ ! -f "$f" ]; then
		echo "FAIL 0 no such scenario" >"$OUT/$name.result"
		return
	fi
	fw=$(vh_scenario_opt "$f" firmware seabios)
	init=$(vh_scenario_opt "$f" init chroot)
	tmo=$(vh_scenario_opt "$f" timeout 180)
	extra=$(vh_scenario_opt "$f" append "")
	# This guest only (run_one runs in a subshell): the build with the fault switch.
	if [ "$(vh_scenario_opt "$f" build release)" = faults ]; then
		BUILD=$FAULTS_BUILD
		if [ ! -x "$BUILD/vfio-handoff-hook" ] || [ ! -x "$BUILD/vfio-handoff" ]; then
			echo "FAIL 0 ${BUILD#"$REPO"/} is missing: make guest-faults-binaries" \
				>"$OUT/$name.result"
			return
		fi
	fi
	s=$(vh_now)
	vh_boot "$log" "$tmo" "$fw" "vh.scenario=$name vh.init=$init $extra" \
		"$([ "$init" = systemd ] && echo "systemd.unit=vh-test.target systemd.show_status=0")"
	st=$?
	s=$(vh_elapsed "$s" "$(vh_now)")
	if tr -d '\r' <"$log" | grep -qx "VH-RESULT PASS $name"; then
		verdict="PASS $s"
	elif [ $st -eq 124 ] || [ $st -eq 137 ]; then
		verdict="FAIL $s timed out after $tmo s"
	elif tr -d '\r' <"$log" | grep -qx "VH-RESULT FAIL $name"; then
		verdict="FAIL $s $(tr -d '\r' <"$log" | grep -m1 '^FAIL: ' | cut -c7-)"
	else
		verdict="FAIL $s the guest stopped without a result (qemu status $st)"
	fi
	echo "$verdict" >"$OUT/$name.result"
}

report() {
	local name=$1 v secs
	read -r v secs rest <"$OUT/$name.result"
	if [ "$v" = PASS ]; then
		echo "PASS $name ($secs s)"
		passed=$((passed + 1))
		[ "${VH_VM_KEEP:-0}" = 1 ] ||
			rm -f "$OUT/$name.log" "$OUT/$name.log.qemu" "$OUT/$name.result"
	else
		echo "FAIL $name ($secs s): $rest; log: ${OUT#"$REPO"/}/$name.log"
		failed=$((failed + 1))
	fi
}

passed=0
failed=0
jobs_max=${VH_VM_JOBS:-2}
declare -A pid_of=()
for name in "${scenarios[@]}"; do
	while [ ${#pid_of[@]} -ge "$jobs_max" ]; do
		wait -n
		for n in "${!pid_of[@]}"; do
			kill -0 "${pid_of[$n]}" 2>/dev/null && continue
			wait "${pid_of[$n]}"
			report "$n"
			unset "pid_of[$n]"
		done
	done
	run_one "$name" &
	pid_of[$name]=$!
done
for n in "${!pid_of[@]}"; do
	wait "${pid_of[$n]}"
	report "$n"
done
echo "vm: $(vh_elapsed "$t0" "$(vh_now)") s in all"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
