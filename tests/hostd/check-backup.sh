#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ftmb-hostd as a backup: a fake primary streams one instance's INPUT and PAL
# frames and must get ACKs covering all of them (then measures the
# input-to-ACK round trip), while other connections send malformed frames
# (bad CRC, garbage, a wrong HELLO version, a gap, an out-of-range queue, a
# log over the memory bound): each must close only its own connection, with
# a WARNING naming the instance, the peer and the reason, while the good
# stream goes on and the daemon stays up. The daemon runs under ASan+UBSan
# when that build exists, and must end without a sanitizer report.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/hostd/lib.sh
[ -x "$BUILD/san/ftmb-hostd" ] && HOSTD=$BUILD/san/ftmb-hostd
echo "daemon under test: $HOSTD"

PORT=$(free_port)
ADDR=127.0.0.1:$PORT
start_hostd hb "$HOSTD" --name hb --listen "$ADDR" --control "$DIR/hb.sock" \
	--state-dir "$DIR/state" --max-log-mb 8

# The good stream, paced so that it is still running while the bad ones come.
"$FAKE" stream "$ADDR" good --queues 4 --inputs 3000 --pals 3000 --pace-us 200 \
	--lockstep 2000 >"$DIR/good.out" 2>&1 &
GOOD=$!

KINDS="crc garbage version gap queue overmem"
for k in $KINDS; do
	"$FAKE" bad "$ADDR" "bad-$k" --kind "$k" || fail "malformed '$k' was not refused"
done
# Negative control: valid frames must NOT be cut off, so the checker fails.
if "$FAKE" bad "$ADDR" bad-none --kind none >/dev/null; then
	fail "negative control: the checker reported a close after valid frames"
fi
echo "negative control: a stream of valid frames stays open (checker has teeth)"

wait "$GOOD" || { cat "$DIR/good.out"; fail "the good stream did not get its ACKs"; }
cat "$DIR/good.out"
kill -0 "${HOSTD_PIDS[hb]}" || fail "ftmb-hostd died"

declare -A REASON=([crc]="checksum mismatch" [garbage]="length field disagrees"
	[version]="unsupported version" [gap]="a gap" [queue]="out of range"
	[overmem]="configured bound reached")
for k in $KINDS; do
	grep -q "WARNING: instance bad-$k\( (claimed)\)\?, peer 127.0.0.1:[0-9]*: closing the connection: .*${REASON[$k]}" \
		"$DIR/hb.log" || fail "no WARNING naming bad-$k, its peer and '${REASON[$k]}'"
done
echo "each malformed stream was closed with a WARNING naming instance, peer and reason"

errors=$(control hb stats 'r["protocol_errors"]')
[ "$errors" = 6 ] || fail "protocol_errors is $errors, expected 6"
held=$(control hb stats "inst('good')['held_inputs']")
[ "$held" = $((4 * 3000 + 2000)) ] || fail "the good instance holds $held inputs, expected 14000"
echo "control stats: protocol_errors $errors; instance good holds all $held inputs"
stop_hostd hb TERM
if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$DIR/hb.log"; then
	fail "sanitizer report from ftmb-hostd"
fi
echo "check-backup: OK"
