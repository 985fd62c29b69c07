#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench-path: mode off (plain forwarding) versus mode ftmb (input log,
# PALs, parallel release) for nat and monitor, side by side in one run on
# this machine, with the backup hostd on another network namespace over
# veth; plus a bare request/response round trip to the backup over the
# same transport (the floor for released latency). For each middlebox and
# mode, alternating, ROUNDS times: throughput at saturation (the generator
# sends as fast as it can) and latency at a fixed offered load RATE; the
# medians are reported. The last line per middlebox is
#   bench-path mb=... threads=... off_mpps=... ftmb_mpps=... throughput_ratio=...
#     off_p50_us=... ftmb_p50_us=... added_p50_us=... added_p99_us=... rtt_p50_us=...
. "$(dirname "$0")/lib.sh" || exit 1

THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-20000}
SIZE=${SIZE:-128}
SECONDS_EACH=${SECONDS_EACH:-3}

# measure MB MODE RATE: one traffic run; sets mpps, p50 and p99.
measure() {
	local mb=$1 mode=$2 rate=$3
	traffic gen --flows 256 --rate "$rate" --duration "$SECONDS_EACH" --warmup 1 --size "$SIZE"
	start_vhost mb1 "$THREADS" "$mode"
	start_mb "$mb" mb1 "$THREADS"
	go
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
			measure "$mb" "$mode" 0
			sat=$mpps
			measure "$mb" "$mode" "$RATE"
			log "$mb $mode round $r: saturation $sat Mpps; at $RATE pps p50 $p50 us p99 $p99 us"
			echo "$mode $sat $p50 $p99" >>"$WORK/$mb.runs"
		done
	done
	pick() { awk -v m="$1" -v c="$2" '$1 == m {print $c}' "$WORK/$mb.runs" | median; }
	off_mpps=$(pick off 2) ftmb_mpps=$(pick ftmb 2)
	off_p50=$(pick off 3) ftmb_p50=$(pick ftmb 3)
	off_p99=$(pick off 4) ftmb_p99=$(pick ftmb 4)
	awk -v mb="$mb" -v t="$THREADS" -v om="$off_mpps" -v fm="$ftmb_mpps" -v o50="$off_p50" \
		-v f50="$ftmb_p50" -v o99="$off_p99" -v f99="$ftmb_p99" -v rtt="$rtt" 'BEGIN {
		printf "bench-path mb=%s threads=%d off_mpps=%.4f ftmb_mpps=%.4f throughput_ratio=%.3f " \
			"off_p50_us=%.1f ftmb_p50_us=%.1f added_p50_us=%.1f added_p99_us=%.1f rtt_p50_us=%.1f\n",
			mb, t, om, fm, fm / om, o50, f50, f50 - o50, f99 - o99, rtt }' >>"$WORK/lines"
done
stop hostd_a
stop hostd_b
log "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $THREADS middlebox thread(s) beside the generator, ftmb-vhost and hostd: all share the cores"
cat "$WORK/lines"
