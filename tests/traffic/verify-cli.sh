#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ftmb-verify from the outside: exit 0 on a clean recording, 1 naming the
# violation, 2 with a clear message on malformed files and bad usage. The
# record files are written here byte by byte (python3 struct), independently
# of the C writer.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
verify=$root/${BUILD:-build}/ftmb-verify
tmp=$(mktemp -d /tmp/ftmb-traffic-verify.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0

python3 - "$tmp" <<'PY'
import struct, sys, os
d = sys.argv[1]
HDR = struct.Struct("<IIII")
REC = struct.Struct("<IIHHIQQQQQ")   # struct ftmb_sinkrec, 56 bytes
assert REC.size == 56
MAGIC, VERSION = 0x4b4e4953, 1

def write(name, recs, magic=MAGIC, version=VERSION, size=REC.size, cut=0):
    data = HDR.pack(magic, version, size, 0) + b"".join(REC.pack(*r) for r in recs)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data[:len(data) - cut])

def rec(flow, seq, tx_ms, glob, fcount, ip=None, port=None):
    ip = 0x0a000000 + flow if ip is None else ip
    port = 10000 + flow if port is None else port
    tx = tx_ms * 1000000
    return (flow, ip, port, 0, 90, seq, tx, tx + 30000, glob, fcount)

clean = []
g = 0
for seq in range(1, 51):
    for flow in range(4):
        g += 1
        clean.append(rec(flow, seq, g, g, seq))
write("clean.rec", clean)
write("dup.rec", clean + clean[-5:])
bad = list(clean)
bad[150] = rec(bad[150][0], bad[150][5], g, bad[3][8], bad[150][9])
write("global.rec", bad)
remap = [rec(0, s, s, s, s) for s in range(1, 6)] + \
        [rec(0, s, 500 + s, s, s, port=20000) for s in range(6, 11)]
write("remap.rec", remap)
write("magic.rec", clean, magic=0x12345678)
write("truncated.rec", clean, cut=20)
write("recsize.rec", clean, size=64)
open(os.path.join(d, "empty.rec"), "wb").close()
PY

# expect WANT_RC WANT_TEXT ARGS...: runs ftmb-verify and checks both.
expect() {
	local want_rc=$1 want_text=$2 out rc
	shift 2
	out=$("$verify" "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && grep -qF -- "$want_text" <<<"$out"; then
		echo "ok:   exit $rc: ftmb-verify ${*//$tmp\//}: $(head -1 <<<"$out")"
	else
		echo "FAIL: ftmb-verify $*: exit $rc (want $want_rc), want \"$want_text\" in:"
		echo "$out"
		failures=$((failures + 1))
	fi
}

expect 0 "OK: 200 records, 200 packets in 4 flows, 0 exact duplicates" --mb monitor "$tmp/clean.rec"
expect 0 "OK: 205 records, 200 packets in 4 flows, 5 exact duplicates" --mb monitor "$tmp/dup.rec"
expect 0 "OK: 405 records, 200 packets in 4 flows, 205 exact duplicates" --mb nat "$tmp/clean.rec" "$tmp/dup.rec"
expect 1 "VIOLATION (global-reused)" --mb monitor "$tmp/global.rec"
expect 1 "global.rec record 150" --mb monitor "$tmp/global.rec"
expect 1 "VIOLATION (mapping-changed)" --mb nat "$tmp/remap.rec"
expect 0 "1 remapped after expiry" --mb nat --nat-idle-ms 400 "$tmp/remap.rec"
expect 2 "bad magic 0x12345678: not a sink record file" --mb monitor "$tmp/magic.rec"
expect 2 "truncated: record 199 is cut after 36 of its 56 bytes" --mb nat "$tmp/truncated.rec"
expect 2 "record size 64, this build reads 56-byte records" --mb nat "$tmp/recsize.rec"
expect 2 "truncated header" --mb nat "$tmp/empty.rec"
expect 2 "magic.rec" --mb monitor "$tmp/clean.rec" "$tmp/magic.rec"
expect 2 "No such file" --mb monitor "$tmp/missing.rec"
expect 2 "--mb must be monitor or nat" --mb firewall "$tmp/clean.rec"
expect 2 "name at least one record file" --mb nat

json=$("$verify" --mb monitor --json "$tmp/global.rec")
if python3 -c 'import json,sys; v=json.load(sys.stdin); assert v["ok"] is False and v["violation"]["kind"] == "global-reused" and len(v["violation"]["packets"]) == 2' <<<"$json"; then
	echo "ok:   --json parses and names the violation and its 2 packets"
else
	echo "FAIL: --json output: $json"
	failures=$((failures + 1))
fi

echo "verify-cli: $failures failures"
[ "$failures" -eq 0 ]
