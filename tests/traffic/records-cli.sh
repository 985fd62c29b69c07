#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ftmb-records prints a record file (written here independently) as text,
# with times relative to --t0-ns, and refuses a file that is not one.
set -eu
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/r.rec" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IIII", 0x4B4E4953, 1, 56, 0))
    # flow, src_ip, src_port, reserved, frame_len, seq, tx, rx, mb_global, mb_flow
    f.write(struct.pack("<IIHHIQQQQQ", 7, 0xC0000201, 1024, 0, 128, 3, 1000000, 1250000, 42, 3))
    f.write(struct.pack("<IIHHIQQQQQ", 8, 0xC0000201, 1025, 0, 128, 1, 2000000, 3000000, 43, 1))
PY
got=$("$BUILD/ftmb-records" --t0-ns 1000000 "$tmp/r.rec")
want='# t_ms latency_us flow seq src mb_global mb_flow
0.250 250.0 7 3 192.0.2.1:1024 42 3
2.000 1000.0 8 1 192.0.2.1:1025 43 1'
[ "$got" = "$want" ] || { printf 'FAIL: ftmb-records printed\n%s\nwanted\n%s\n' "$got" "$want"; exit 1; }
echo garbage >"$tmp/bad.rec"
if "$BUILD/ftmb-records" "$tmp/bad.rec" 2>"$tmp/err"; then
	echo "FAIL: ftmb-records accepted a file that is not a record file"
	exit 1
fi
echo "records-cli: ok: $(cat "$tmp/err")"
