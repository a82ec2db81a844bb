#!/bin/bash
# make bench: boots the real-kernel test guest once (the single-GPU UEFI desktop of
# tests/vm/scenarios/single-gpu.sh) and measures, in alternating rounds, vfio-handoff's hook,
# the floor (tests/bench/floor.c: the same kernel and systemd operations, no checks, no
# journal) and a peer-style bash hook (tests/bench/peer-hook.sh) handing the GPU's group to
# vfio-pci and back; then the hook's fast path against /bin/true and peak memory. Prints the
# table and writes it to build/bench/result.txt (the guest's console beside it, guest.log).
#   tests/bench/run.sh [--table GUEST.LOG]   (--table: only the table, from a kept log)
#   VH_BENCH_ROUNDS=10   rounds per program (one more, round 0, warms up and is not counted)
#   VH_BENCH_CALLS=3     calls per fast-path block
#   VH_BENCH_PEER_SLEEP=2,2   the peer hook's fixed sleeps in prepare and release (seconds)
#   VH_BENCH_PROFILE=1   also strace -c one more round trip of vfio-handoff and the floor
#   VH_BENCH_OUT=DIR     where the table and the log go (build/bench)
#   VH_BENCH_VARIANT=DIR a second build's hook and engine (make B=DIR SAN=0 binaries), run as
#                        a fourth program in the same rounds: a change measured against HEAD
set -u
. "$(dirname "$0")/../vm/lib/host.sh"

rounds=${VH_BENCH_ROUNDS:-10}
calls=${VH_BENCH_CALLS:-3}
peer_sleep=${VH_BENCH_PEER_SLEEP:-2,2}
RES=${VH_BENCH_OUT:-$REPO/build/bench}
mkdir -p "$RES"
t0=$(vh_now)

if [ "${1:-}" = --table ]; then
	log=$2
else
	vh_prepare_cache
	[ -x "$BUILD/vfio-handoff-hook-engine" ] ||
		vh_die "$BUILD/vfio-handoff-hook-engine is missing"
	# The guest side, staged in the build tree the guest mounts (/vh/build/bench).
	mkdir -p "$BUILD/bench"
	gcc -std=gnu11 -O2 -Wall -Wextra -o "$BUILD/bench/floor" "$REPO/tests/bench/floor.c" ||
		vh_die "cannot build tests/bench/floor.c"
	gcc -shared -fPIC -O2 -Wall -Wextra -o "$BUILD/bench/hwm.so" "$REPO/tests/bench/hwm.c" ||
		vh_die "cannot build tests/bench/hwm.c"
	cp "$REPO"/tests/bench/{bench-guest.sh,peer-hook.sh,hook-fastpath.sh} "$BUILD/bench/"
	rm -rf "$BUILD/bench/variant"
	if [ -n "${VH_BENCH_VARIANT:-}" ]; then
		mkdir -p "$BUILD/bench/variant"
		cp "$VH_BENCH_VARIANT"/vfio-handoff-hook{,-engine} "$BUILD/bench/variant/" ||
			vh_die "VH_BENCH_VARIANT=$VH_BENCH_VARIANT has no hook and engine"
	fi
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg)" >"$RES/host-load"
	echo "bench: kernel $KVER, $(vh_accel | sed 's/.*accel=\([a-z]*\).*/\1/'), $rounds rounds;" \
		"booting the guest ($(vh_elapsed "$t0" "$(vh_now)") s)"
	log=$RES/guest.log
	rm -f "$log" "$log.qemu"
	# The limit only guards against a hung guest: on a busy machine a run takes longer.
	vh_boot "$log" "${VH_BENCH_TIMEOUT:-1200}" ovmf "vh.scenario=bench-guest vh.init=systemd" \
		"vh.rounds=$rounds vh.calls=$calls vh.peer_sleep=$peer_sleep" \
		"vh.profile=${VH_BENCH_PROFILE:-0} systemd.unit=vh-test.target systemd.show_status=0"
	st=$?
	if ! tr -d '\r' <"$log" | grep -qx 'VH-RESULT PASS bench-guest'; then
		[ $st -eq 124 ] && echo "bench: the guest timed out"
		tr -d '\r' <"$log" | grep '^FAIL: ' | head -5
		echo "bench: failed; the guest's console is in ${log#"$REPO"/}"
		exit 1
	fi
fi
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
tr -d '\r' <"$log" | grep -E '^(BENCH|FASTPATH|HWM|HWM-CALL|INFO) ' >"$raw"
info() { sed -n "s/^INFO $1 //p" "$raw" | head -1; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
{
	echo "make bench, $(date -u -r "$log" '+%Y-%m-%d %H:%M UTC'), $(info rounds) rounds each" \
		"(after a warm-up round)"
	echo "host: $cpu, $(nproc) cores, $mem; $(cat "$RES/host-load" 2>/dev/null) at the start"
	echo "guest: kernel $(info kernel) under QEMU $(vh_accel | sed 's/.*accel=\([a-z]*\).*/\1/')" \
		"(q35, 2 vCPUs, 1 GiB, OVMF), systemd, a display manager"
	echo "  holding the card, fbcon; one IOMMU group: VGA (bochs) + HDA + xHCI. Peer hook"
	echo "  sleeps: $(info peer_sleep)"
	echo
	awk -v rounds="$rounds" '
	function rrow(what, k) {
		printf "  %-50s %6.1f %6s\n", what, rss[k] / 1024,
			own[k] ? sprintf("%.1f", own[k] / 1024) : "-"
	}
	function med(a, n,   i, j, t, b) {
		for (i = 1; i <= n; i++) b[i] = a[i]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && b[j - 1] > b[j]; j--) {
			t = b[j]; b[j] = b[j - 1]; b[j - 1] = t
		}
		lo = b[1]; hi = b[n]
		return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
	}
	$1 == "HWM-CALL" { cur = $2 " " $3; next }
	$1 == "HWM" { if ($2 != "time" && $3 > own[cur]) own[cur] = $3; next }
	$1 == "FASTPATH" { fp[$2] = $3; next }
	$1 != "BENCH" || $4 !~ /^[0-9]+$/ { next }
	$2 ~ /-cmd$|^hook-fastpath$|^systemctl$/ { rss[$2 " " $3] = $8; next }
	$4 >= 1 {
		k = $2 " " $3; n[k]++
		w[k, n[k]] = $5; c[k, n[k]] = $6 + $7; if ($8 > rss[k]) rss[k] = $8
	}
	END {
		printf "%-9s %-13s %22s %22s %9s\n", "", "", "wall s, median (min-max)",
			"CPU s (user+sys)", "peak RSS"
		split("prepare release", ops, " "); split("vfio-handoff variant floor peer", who, " ")
		for (o = 1; o <= 2; o++) for (p = 1; p <= 4; p++) {
			k = who[p] " " ops[o]
			if (!n[k]) continue
			for (i = 1; i <= n[k]; i++) { a[i] = w[k, i]; b[i] = c[k, i] }
			W[k] = med(a, n[k]); wl = lo; wh = hi
			C[k] = med(b, n[k]); cl = lo; ch = hi
			printf "%-9s %-13s %7.2f (%5.2f-%5.2f) %8.2f (%5.2f-%5.2f) %6.1f MiB\n",
				ops[o], who[p] == "peer" ? "peer hook" : who[p], W[k], wl, wh,
				C[k], cl, ch, rss[k] / 1024
		}
		print ""
		printf "%-44s %8s %8s  %s\n", "ratio (medians)", "wall", "CPU", "target"
		for (o = 1; o <= 2; o++) {
			v = "vfio-handoff " ops[o]; f = "floor " ops[o]; q = "peer " ops[o]
			x = "variant " ops[o]
			if (W[f] > 0 && W[x] > 0)
				printf "%-44s %8.2f %8.2f\n", ops[o] " variant / floor", W[x] / W[f], C[x] / C[f]
			if (W[f] > 0)
				printf "%-44s %8.2f %8.2f  <= 1.10 wall: %s\n", ops[o] " vfio-handoff / floor",
					W[v] / W[f], C[v] / C[f], (W[v] / W[f] <= 1.10 ? "met" : "MISSED")
			if (W[v] > 0)
				printf "%-44s %8.2f %8.2f  >= 20 wall: %s\n", ops[o] " peer hook / vfio-handoff",
					W[q] / W[v], C[q] / C[v], (W[q] / W[v] >= 20 ? "met" : "MISSED")
		}
		if (fp["true"] > 0) {
			printf "%-44s %8.2f %8s  <= 1.20: %s\n", "hook, VM not opted in / /bin/true",
				fp["prepare"] / fp["true"], "", (fp["prepare"] / fp["true"] <= 1.2 ? "met" : "MISSED")
			printf "%-44s %8.2f %8s  <= 1.20: %s\n", "hook, operation not acted on / /bin/true",
				fp["start"] / fp["true"], "", (fp["start"] / fp["true"] <= 1.2 ? "met" : "MISSED")
			printf "  (per call: /bin/true %.2f ms, not opted in %.2f ms, not acted on %.2f ms)\n",
				fp["true"] / 1e6, fp["prepare"] / 1e6, fp["start"] / 1e6
		}
		print ""
		print "peak RSS, MiB: /usr/bin/time -v (with the children it waited for: systemctl,"
		print "deadline children) and its own VmHWM at exit (hwm.so); target < 8 MiB"
		rrow("hook, VM not opted in (fast path)", "hook-fastpath prepare")
		rrow("hook + engine, prepare begin", "vfio-handoff prepare")
		rrow("hook + engine, release end", "vfio-handoff release")
		rrow("systemctl is-active (what the engine runs)", "systemctl is-active")
		rrow("the command: vfio-handoff prepare --xml", "vfio-handoff-cmd prepare")
		rrow("the command: vfio-handoff release", "vfio-handoff-cmd release")
	}' "$raw"
} >"$RES/result.txt"
cat "$RES/result.txt"
echo "bench: done in $(vh_elapsed "$t0" "$(vh_now)") s; table in $RES/result.txt"
