#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmarks of ftmb-traffic itself over memif, side by side in one run:
#  - the highest rate the generator reaches (send-only -> sink-only, with and
#    without recording, 90- and 1514-byte frames; generator <-> echo);
#  - the latency floor of a direct loop, generator -> memif -> echo ->
#    generator, with the idle backoff (default), with immediate sleeps
#    (--spin-us 0) and with busy polling, at low rates, with the CPU each
#    side used.
# Not part of `make check` (it takes about a minute). All processes share
# the machine's cores with whatever else runs: the numbers say what this
# machine gave at that moment, and the load average is printed with them.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
traffic=$root/${BUILD:-build}/ftmb-traffic
tmp=$(mktemp -d /tmp/ftmb-traffic-bench.XXXXXX)
sock=ftmb-traffic-bench-$$
n=0
DURATION=${DURATION:-3}

. "$root/tests/traffic/lib.sh"

# json FILE EXPR: prints a value from a JSON report (r).
json() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"
}

# pair PEER_ARGS -- MAIN_ARGS: the peer (memif server) in the background,
# the measured instance (client) in the foreground; JSON in $tmp/{peer,main}.
pair() {
	local peer=() s=$sock-$((n++))
	while [ "$1" != "--" ]; do
		peer+=("$1")
		shift
	done
	shift
	"$traffic" -- --dev "net_memif0,role=server,socket=$s,rsize=12" "${peer[@]}" \
		--duration 30 --json -q >"$tmp/peer" 2>"$tmp/peer.err" &
	pids+=($!)
	local peer_pid=$!
	sleep 0.3
	"$traffic" -- --dev "net_memif0,role=client,socket=$s,rsize=12" "$@" --json -q \
		>"$tmp/main" 2>"$tmp/main.err"
	kill -INT "$peer_pid" 2>/dev/null
	wait "$peer_pid"
}

echo "ftmb-traffic benchmark, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "max rate over memif, ${DURATION} s, rate 0 (as fast as possible)"
printf "%-44s %10s %10s %9s %9s\n" "" "tx Mpps" "rx Mpps" "tx cpu" "rx cpu"
for size in 90 1514; do
	for rec in "" "--record $tmp/sink.rec"; do
		# shellcheck disable=SC2086
		pair --sink-only --stop-after-idle 300 $rec -- --send-only --size $size \
			--duration "$DURATION"
		printf "%-44s %10.3f %10.3f %8.0f%% %8.0f%%\n" \
			"send-only -> sink-only, $size B${rec:+, recording}" \
			"$(json "$tmp/main" 'r["tx"]["mpps"]')" "$(json "$tmp/peer" 'r["rx"]["mpps"]')" \
			"$(json "$tmp/main" '100*r["cpu_share"]')" "$(json "$tmp/peer" '100*r["cpu_share"]')"
		rm -f "$tmp/sink.rec"
	done
done
pair --echo -- --duration "$DURATION" --record "$tmp/gen.rec"
printf "%-44s %10.3f %10.3f %8.0f%% %8.0f%%  (echo / generator)\n" \
	"generator <-> echo, 90 B, recording" \
	"$(json "$tmp/main" 'r["tx"]["mpps"]')" "$(json "$tmp/main" 'r["rx"]["mpps"]')" \
	"$(json "$tmp/peer" '100*r["cpu_share"]')" "$(json "$tmp/main" '100*r["cpu_share"]')"
echo "  generator <-> echo loss: $(json "$tmp/main" 'r["loss"]["packets"]') packets"
rm -f "$tmp/gen.rec"

echo
echo "latency floor: generator -> memif -> echo -> generator, 16 flows, 90 B, ${DURATION} s after 0.5 s warm-up"
printf "%-38s %7s %7s %7s %7s %7s %7s %8s %8s\n" "" "pps" "p50" "p90" "p99" "p99.9" "max" \
	"gen cpu" "echo cpu"
for rate in 1000 10000 100000; do
	for mode in "backoff (spin 20 us, sleep <= 50 us)|" \
		"sleep at once (--spin-us 0)|--spin-us 0" \
		"busy polling (--busy-poll)|--busy-poll"; do
		label=${mode%%|*}
		args=${mode#*|}
		# shellcheck disable=SC2086
		pair --echo $args -- --rate $rate --duration "$DURATION" --warmup 0.5 $args
		printf "%-38s %7s %7.1f %7.1f %7.1f %7.1f %7.1f %7.0f%% %7.0f%%\n" "$label" "$rate" \
			"$(json "$tmp/main" 'r["latency_us"]["p50"]')" \
			"$(json "$tmp/main" 'r["latency_us"]["p90"]')" \
			"$(json "$tmp/main" 'r["latency_us"]["p99"]')" \
			"$(json "$tmp/main" 'r["latency_us"]["p99_9"]')" \
			"$(json "$tmp/main" 'r["latency_us"]["max"]')" \
			"$(json "$tmp/main" '100*r["cpu_share"]')" "$(json "$tmp/peer" '100*r["cpu_share"]')"
	done
done
echo "(latency in microseconds; cpu as a share of one core over each process's run)"
