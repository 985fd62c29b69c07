#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench-path: mode off (plain forwarding) versus mode ftmb (input log,
# PALs, parallel release) for nat and monitor, side by side in one run on
# this machine, with the backup hostd on another network namespace over
# veth; plus a bare request/response round trip to the backup over the
# same transport (the floor for released latency). For each middlebox and
# mode, alternating, ROUNDS times: throughput at saturation (the generator
# sends as fast as it can) and latency at a fixed offered load RATE; the
# medians are reported. Mode checkpoint (Remus-style: outputs wait for the
# commit of the next checkpoint, every CKPT_MS) runs at RATE only: without a
# VM its checkpoints are empty, so its latency is a lower bound on
# checkpoint-then-release. The last line per middlebox is
#   bench-path mb=... threads=... off_mpps=... ftmb_mpps=... throughput_ratio=...
#     off_p50_us=... ftmb_p50_us=... added_p50_us=... added_p99_us=... rtt_p50_us=...
#     ckpt_p50_us=... ckpt_vs_ftmb_added=...
# where ckpt_vs_ftmb_added is the latency mode checkpoint adds to mode off
# divided by the latency mode ftmb adds. Before it, where the CPU went at
# saturation (cpu_account.py, inside the generator's measured window) in
# the round with the median throughput of each mode, and the CPU per packet
# each process adds in mode ftmb:
#   bench-path-cpu mb=... mode=... mpps=... gen_pct=... vhost_pct=... mb_pct=...
#     hostd_a_pct=... hostd_b_pct=... ksoftirqd_pct=... softirq_pct=...
#     steal_pct=... other_pct=... idle_pct=... cpu_us_per_pkt=...
#   bench-path-cpu mb=... ftmb vs off: +... CPU us per packet (...): ROLE +..., ...
. "$(dirname "$0")/lib.sh" || exit 1

THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-20000}
SIZE=${SIZE:-128}
SECONDS_EACH=${SECONDS_EACH:-3}
WARMUP=1
CKPT_MS=${CKPT_MS:-50}
# Failure detection is not measured here: a saturation run must not make
# the backup declare the primary failed (30 ms, the default, can pass
# without a heartbeat on two busy cores).
FAILURE_TIMEOUT_MS=${FAILURE_TIMEOUT_MS:-2000}

# cpu_account FILE: the CPU of each process of the run, 0.2 s inside both
# ends of the generator's measured window, as JSON in FILE.
cpu_account() {
	"$PYTHON" tests/hostproc/cpu_account.py measure --json \
		--after "$(awk -v w="$WARMUP" 'BEGIN {print w + 0.2}')" \
		--for "$(awk -v d="$SECONDS_EACH" 'BEGIN {print d - 0.4}')" \
		gen="$PID_gen" vhost="$PID_vhost_a" mb="$PID_mb_a" \
		hostd_a="$PID_hostd_a" hostd_b="$PID_hostd_b" >"$1" ||
		fail "cpu_account.py failed"
}

# measure MB MODE RATE [CPU-FILE]: one traffic run; sets mpps, p50 and
# p99; with CPU-FILE, where the CPU went (cpu_account) too.
measure() {
	local mb=$1 mode=$2 rate=$3 cpu=${4:-} keys=
	[ "$mode" = checkpoint ] && keys=",ckpt_interval_ms=$CKPT_MS"
	traffic gen --flows 256 --rate "$rate" --duration "$SECONDS_EACH" --warmup "$WARMUP" --size "$SIZE"
	start_vhost mb1 "$THREADS" "$mode" "$keys"
	start_mb "$mb" mb1 "$THREADS"
	go
	[ -z "$cpu" ] || cpu_account "$cpu"
	wait_traffic gen
	stop mb_a
	stop vhost_a
	rm -f "$EXT_SOCK"
	grep -aq "failing over" "$WORK/hostd_b.log" && fail "the backup declared a failure"
	read -r mpps p50 p99 <<<"$(json "$WORK/gen.json" \
		"'%.4f %.1f %.1f' % (j['rx']['mpps'], j['latency_us']['p50'], j['latency_us']['p99'])")"
}

median() {
	sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

setup_hosts
write_hostd_conf mb1 monitor "$THREADS"
start_hostd b
start_hostd a
ip netns exec "$NS_A" "$BUILD/ftmb-ping" --count 5000 --json "$IP_B:$REPL_PORT" >"$WORK/rtt.json" ||
	fail "ftmb-ping to the backup failed"
rtt=$(json "$WORK/rtt.json" "'%.1f' % j['p50_us']")
log "bare round trip to the backup over veth: p50 $rtt us (ftmb-ping, kernel TCP)"

for mb in nat monitor; do
	: >"$WORK/$mb.sat"
	: >"$WORK/$mb.lat"
	for ((r = 1; r <= ROUNDS; r++)); do
		for mode in off ftmb; do
			cpu=$WORK/cpu-$mb-$mode-$r.json
			measure "$mb" "$mode" 0 "$cpu"
			sat=$mpps
			measure "$mb" "$mode" "$RATE"
			log "$mb $mode round $r: saturation $sat Mpps; at $RATE pps p50 $p50 us p99 $p99 us"
			echo "$mode $sat $p50 $p99 $cpu" >>"$WORK/$mb.runs"
		done
		measure "$mb" checkpoint "$RATE"
		log "$mb checkpoint round $r: every $CKPT_MS ms; at $RATE pps p50 $p50 us p99 $p99 us"
		echo "checkpoint 0 $p50 $p99" >>"$WORK/$mb.runs"
	done
	pick() { awk -v m="$1" -v c="$2" '$1 == m {print $c}' "$WORK/$mb.runs" | median; }
	off_mpps=$(pick off 2) ftmb_mpps=$(pick ftmb 2)
	off_p50=$(pick off 3) ftmb_p50=$(pick ftmb 3)
	off_p99=$(pick off 4) ftmb_p99=$(pick ftmb 4)
	ckpt_p50=$(pick checkpoint 3)
	"$PYTHON" tests/hostproc/cpu_account.py compare "bench-path-cpu mb=$mb" \
		$(awk '$5 {print $1 ":" $2 ":" $5}' "$WORK/$mb.runs") >>"$WORK/lines" ||
		fail "cpu_account.py compare failed"
	awk -v mb="$mb" -v t="$THREADS" -v om="$off_mpps" -v fm="$ftmb_mpps" -v o50="$off_p50" \
		-v f50="$ftmb_p50" -v o99="$off_p99" -v f99="$ftmb_p99" -v rtt="$rtt" -v c50="$ckpt_p50" 'BEGIN {
		added = f50 - o50
		ratio = (added > 0) ? sprintf("%.0f", (c50 - o50) / added) : "inf"
		printf "bench-path mb=%s threads=%d off_mpps=%.4f ftmb_mpps=%.4f throughput_ratio=%.3f " \
			"off_p50_us=%.1f ftmb_p50_us=%.1f added_p50_us=%.1f added_p99_us=%.1f rtt_p50_us=%.1f " \
			"ckpt_p50_us=%.1f ckpt_vs_ftmb_added=%s\n",
			mb, t, om, fm, fm / om, o50, f50, added, f99 - o99, rtt, c50, ratio }' >>"$WORK/lines"
done
stop hostd_a
stop hostd_b
log "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $THREADS middlebox thread(s) beside the generator, ftmb-vhost and hostd: all share the cores"
cat "$WORK/lines"
