#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ftmb-traffic end to end over memif, a few seconds:
#  1. generator <-> echo: every packet comes back once; the JSON report's
#     counts, the record file (read independently here) and ftmb-verify agree;
#  2. send-only -> sink-only: the sink records exactly what was sent and ends
#     by itself (--stop-after-idle);
#  3. the echo is killed and replaced mid-run: the generator carries on,
#     reports the link going down, and its counts stay consistent.
# Prints what it measured. Every process started here is stopped on exit.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/${BUILD:-build}
traffic=$build/ftmb-traffic
verify=$build/ftmb-verify
tmp=$(mktemp -d /tmp/ftmb-traffic-check.XXXXXX)
sock=ftmb-traffic-check-$$ # abstract memif sockets: nothing to remove
failures=0

. "$root/tests/traffic/lib.sh"

# Starts ftmb-traffic in the background with output in $tmp/$name.{out,err}.
# Every instance ends by itself within 20 s (--duration or --count), so that
# none outlives this script even if it is killed before its trap runs.
start() {
	local name=$1
	shift
	"$traffic" -- "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids+=($!)
	last_pid=$!
}

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# check NAME PYTHON-EXPR JSON-FILE [ARGS]: evaluates the expression with r =
# the parsed report (and rec = the record file's records when given).
check() {
	local what=$1 expr=$2 report=$3 recfile=${4:-}
	if python3 - "$report" "$recfile" "$expr" <<'PY'; then
import json, struct, sys
report, recfile, expr = sys.argv[1:4]
r = json.load(open(report))
rec = []
if recfile:
    data = open(recfile, "rb").read()
    magic, version, size, reserved = struct.unpack_from("<IIII", data)
    assert (magic, version, size, reserved) == (0x4b4e4953, 1, 56, 0), "bad header"
    assert (len(data) - 16) % 56 == 0, "partial record"
    keys = ("flow", "src_ip", "src_port", "reserved", "frame_len", "seq", "tx_ns", "rx_ns",
            "mb_global", "mb_flow")
    rec = [dict(zip(keys, struct.unpack_from("<IIHHIQQQQQ", data, off)))
           for off in range(16, len(data), 56)]
ok = eval(expr)
if not ok:
    print(f"    {expr} is false")
sys.exit(0 if ok else 1)
PY
		echo "ok:   $what"
	else
		fail "$what ($report)"
	fi
}

echo "--- 1. generator <-> echo over memif"
ring=rsize=14 # 16384 descriptors: a descheduled peer does not overflow
start echo1 --dev "net_memif0,role=server,socket=$sock-1,$ring" --echo --duration 20 -q
start gen1 --dev "net_memif0,role=client,socket=$sock-1,$ring" --flows 8 --count 2000 \
	--rate 20000 --record "$tmp/gen1.rec" --json -q
gen=$last_pid
wait "$gen" || fail "generator exited with $?: $(cat "$tmp/gen1.err")"
r=$tmp/gen1.out
check "report parses, 2000 sent and 2000 received once" \
	'r["tx"]["whole_run"]["packets"] == 2000 and r["rx"]["unique_whole_run"] == 2000' "$r"
check "no loss, duplicates, gaps or foreign frames" \
	'r["loss"]["packets"] == 0 and r["loss"]["missing"] == 0 and r["rx"]["duplicates"] == 0 and r["rx"]["non_test"] == 0 and r["rx"]["not_sent_by_us"] == 0 and r["rx"]["bad_ip_checksum"] == 0' "$r"
check "2000 latency samples, 0 < p50 <= p99 <= max" \
	'(l := r["latency_us"])["samples"] == 2000 and 0 < l["p50"] <= l["p99"] <= l["max"]' "$r"
check "record file: 2000 records, flows 0-7 with seq 1-250 each" \
	'r["record"]["records"] == 2000 and len(rec) == 2000 and sorted((x["flow"], x["seq"]) for x in rec) == [(f, s) for f in range(8) for s in range(1, 251)]' \
	"$r" "$tmp/gen1.rec"
check "records carry each flow's address, 90-byte frames, rx_ns >= tx_ns" \
	'all(x["src_ip"] == 0x0a000000 + x["flow"] and x["src_port"] == 10000 + x["flow"] and x["frame_len"] == 90 and x["rx_ns"] >= x["tx_ns"] > 0 for x in rec)' \
	"$r" "$tmp/gen1.rec"
if out=$("$verify" --mb nat "$tmp/gen1.rec"); then
	echo "ok:   $out"
else
	fail "ftmb-verify --mb nat: $out"
fi
# The echo stamps nothing, so the monitor invariants must fail: the
# verifier is not vacuous on real recordings either.
out=$("$verify" --mb monitor "$tmp/gen1.rec")
if [ $? -eq 1 ]; then
	echo "ok:   unstamped traffic fails --mb monitor: ${out%%$'\n'*}"
else
	fail "ftmb-verify --mb monitor on unstamped traffic: $out"
fi
python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["latency_us"]; print("measured: generator <-> memif <-> echo at 20 kpps, 2000 packets: latency p50 %.1f us, p99 %.1f us, max %.1f us (2 shared cores, not a benchmark)" % (l["p50"], l["p99"], l["max"]))' "$r"
kill -INT "${pids[0]}"

echo "--- 2. send-only -> sink-only"
start sink2 --dev "net_memif0,role=server,socket=$sock-2,$ring" --sink-only \
	--stop-after-idle 300 --duration 20 --record "$tmp/sink2.rec" --json -q
sink=$last_pid
start send2 --dev "net_memif0,role=client,socket=$sock-2,$ring" --send-only --flows 3 \
	--count 3000 --rate 30000 --json -q
send=$last_pid
wait "$send" || fail "sender exited with $?: $(cat "$tmp/send2.err")"
wait "$sink" || fail "sink exited with $?: $(cat "$tmp/sink2.err")"
check "sender sent 3000" 'r["tx"]["whole_run"]["packets"] == 3000' "$tmp/send2.out"
check "sink ended by itself and recorded the 3000, no gaps" \
	'not r["interrupted"] and r["rx"]["unique_whole_run"] == 3000 and r["record"]["records"] == 3000 and len(rec) == 3000 and r["loss"]["missing"] == 0' \
	"$tmp/sink2.out" "$tmp/sink2.rec"

echo "--- 3. echo replaced mid-run"
start gen3 --dev "net_memif0,role=server,socket=$sock-3,$ring" --flows 4 --rate 10000 \
	--duration 6 --record "$tmp/gen3.rec" --json
gen=$last_pid
sleep 0.2
start echo3a --dev "net_memif0,role=client,socket=$sock-3,$ring" --echo --duration 20 -q
echo_a=$last_pid
# A loaded machine can take seconds to start an EAL: wait for the link.
for _ in $(seq 100); do
	grep -q "is up" "$tmp/gen3.err" && break
	sleep 0.1
done
sleep 0.5
kill -TERM "$echo_a"
wait "$echo_a"
sleep 0.2
start echo3b --dev "net_memif0,role=client,socket=$sock-3,$ring" --echo --duration 20 -q
wait "$gen" || fail "generator exited with $?: $(cat "$tmp/gen3.err")"
check "link went down, packets stopped for > 0.1 s, then 100+ more came back" \
	'r["link_downs"] >= 1 and any(b - a > 1e8 and len(rec) - i > 100 for i, (a, b) in enumerate(zip(sorted(x["rx_ns"] for x in rec), sorted(x["rx_ns"] for x in rec)[1:])))' \
	"$tmp/gen3.out" "$tmp/gen3.rec"
check "counts agree: records = received + duplicates, loss = sent - received" \
	'r["record"]["records"] == len(rec) == r["rx"]["unique_whole_run"] + r["rx"]["duplicates"] and r["loss"]["packets"] == r["tx"]["packets"] - r["rx"]["packets"]' \
	"$tmp/gen3.out" "$tmp/gen3.rec"
if grep -q "link down" "$tmp/gen3.err" && grep -q "link up" "$tmp/gen3.err"; then
	echo "ok:   progress shows: $(grep -h 'link' "$tmp/gen3.err" | tr '\n' ';')"
else
	fail "no link down/up lines on stderr: $(cat "$tmp/gen3.err")"
fi
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("measured: across the replacement: sent %d, received %d, lost %d, behind schedule %d" % (r["tx"]["packets"], r["rx"]["packets"], r["loss"]["packets"], r["tx"]["behind_schedule"]))' "$tmp/gen3.out"

echo "traffic-loop: $failures failures"
[ "$failures" -eq 0 ]
