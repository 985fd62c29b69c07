#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ftmb-traffic and ftmb-verify against the real example middleboxes, run on
# the host in mode off (no ftmb-vhost; a region file from mkregion):
# generator (memif server) -> ftmb-monitor / ftmb-nat (memif client, one
# thread, forwarding back on the same port) -> generator. Checks that the
# middleboxes' output verifies, that every packet was stamped or
# translated, and, as a negative control on real output, that one altered
# record makes the verifier fail. A few seconds.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/${BUILD:-build}
tmp=$(mktemp -d /tmp/ftmb-traffic-mb.XXXXXX)
region=/dev/shm/ftmb-traffic-mb-$$
prefix=ftmb-traffic-mb-$$
pids=()
failures=0

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp" "$region" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run_mb MB ARGS...: one generator run through the middlebox; the report in
# $tmp/MB.json, the records in $tmp/MB.rec.
run_mb() {
	local mb=$1 sock=ftmb-traffic-mb-$$-$1 gen
	shift
	"$build/tests/traffic/mkregion" "$region" 1 || return 1
	"$build/ftmb-traffic" -- --dev "net_memif0,role=server,socket=$sock,rsize=12" \
		--flows 8 --rate 20000 --warmup 0.2 --duration 1 --record "$tmp/$mb.rec" \
		--json -q >"$tmp/$mb.json" 2>"$tmp/$mb.err" &
	gen=$!
	pids+=("$gen")
	# The middlebox connects once, at start: wait for the listening socket.
	for _ in $(seq 50); do
		grep -q "@$sock\$" /proc/net/unix && break
		sleep 0.1
	done
	"$build/ftmb-$mb" --threads 1 --region "$region" "$@" --io "dpdk:--no-huge -m 256 \
--no-pci --no-telemetry --log-level=lib.eal:warning --file-prefix=$prefix \
--vdev=net_memif0,role=client,socket=$sock,rsize=12" >"$tmp/$mb.mb.out" 2>&1 &
	pids+=($!)
	wait "$gen" || fail "$mb: generator exited with $?: $(cat "$tmp/$mb.err")"
	kill -INT "${pids[-1]}"
	wait "${pids[-1]}" || fail "ftmb-$mb exited with $?: $(cat "$tmp/$mb.mb.out")"
}

# check WHAT PYTHON-EXPR MB: r = the report, rec = the records.
check() {
	if python3 - "$tmp/$3.json" "$tmp/$3.rec" "$2" <<'PY'; then
import json, struct, sys
try:
    r = json.load(open(sys.argv[1]))
    data = open(sys.argv[2], "rb").read()
except (OSError, ValueError) as e:
    sys.exit(f"    no report or records: {e}")
keys = ("flow", "src_ip", "src_port", "reserved", "frame_len", "seq", "tx_ns", "rx_ns",
        "mb_global", "mb_flow")
rec = [dict(zip(keys, struct.unpack_from("<IIHHIQQQQQ", data, off)))
       for off in range(16, len(data), 56)]
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
		echo "ok:   $1"
	else
		fail "$1"
	fi
}

# alter MB OUT RECORD FIELD VALUE-FROM-RECORD: copies the file with one
# record's field set to another record's (a made-up violation).
alter() {
	python3 - "$tmp/$1.rec" "$tmp/$2" "$3" "$4" "$5" <<'PY'
import struct, sys
src, dst, idx, field, other = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
data = bytearray(open(src, "rb").read())
off = {"mb_global": 40, "src_port": 8}[field]
size = 8 if field == "mb_global" else 2
a, b = 16 + 56 * idx + off, 16 + 56 * other + off
data[a:a + size] = data[b:b + size]
open(dst, "wb").write(data)
PY
}

# verify_expect RC TEXT WHAT ARGS...: ftmb-verify must exit RC saying TEXT.
verify_expect() {
	local want=$1 text=$2 what=$3 out rc
	shift 3
	out=$("$build/ftmb-verify" "$@")
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -qF -- "$text" <<<"$out"; then
		echo "ok:   $what: ${out%%$'\n'*}"
	else
		fail "$what: exit $rc, want $want and \"$text\": $out"
	fi
}

echo "--- ftmb-monitor"
run_mb monitor
check "monitor forwarded what it got: loss <= 1%, some 20000 packets measured" \
	'r["rx"]["packets"] >= 0.99 * r["tx"]["packets"] > 15000' monitor
check "every record stamped (mb_global, mb_flow > 0)" \
	'len(rec) > 15000 and all(x["mb_global"] > 0 and x["mb_flow"] > 0 for x in rec)' monitor
verify_expect 0 "OK" "monitor output verifies" --mb monitor "$tmp/monitor.rec"
alter monitor monitor-bad.rec 5000 mb_global 100
verify_expect 1 "VIOLATION (global-reused)" "one reused mb_global in it is caught" --mb monitor "$tmp/monitor-bad.rec"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); l=r["latency_us"]; print("measured: generator -> ftmb-monitor (mode off) -> generator at 20 kpps: p50 %.1f us, p99 %.1f us, loss %d of %d" % (l["p50"], l["p99"], r["loss"]["packets"], r["tx"]["packets"]))' "$tmp/monitor.json" 2>/dev/null

echo "--- ftmb-nat"
run_mb nat --external-ip 192.0.2.1 --idle-ms 1000
check "nat forwarded what it got: loss <= 1%, some 20000 packets measured" \
	'r["rx"]["packets"] >= 0.99 * r["tx"]["packets"] > 15000' nat
check "every record translated to 192.0.2.1 with a valid IP checksum" \
	'len(rec) > 15000 and all(x["src_ip"] == 0xc0000201 for x in rec) and r["rx"]["bad_ip_checksum"] == 0' nat
check "8 flows, 8 distinct external ports" \
	'len({x["flow"] for x in rec}) == 8 and len({x["src_port"] for x in rec}) == 8' nat
verify_expect 0 "OK" "nat output verifies" --mb nat "$tmp/nat.rec"
alter nat nat-bad.rec 5000 src_port 5001
verify_expect 1 "VIOLATION (mapping-changed)" "one packet with another flow's port in it is caught" --mb nat "$tmp/nat-bad.rec"

echo "traffic-mb: $failures failures"
[ "$failures" -eq 0 ]
