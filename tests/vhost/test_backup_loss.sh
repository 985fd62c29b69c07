#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A backup that breaks: after a while the fake backup sends a frame with a
# wrong checksum, and on the reconnection it acknowledges nothing more. A
# primary cut off from its backup releases nothing: ftmb-vhost must log the
# bad frame, keep holding outputs, reconnect with backoff, and stay up;
# every output that did leave was acknowledged first. SIGUSR1 mid-run must
# write the statistics and log a summary.
. "$(dirname "$0")/lib.sh" || exit 1
N=2000
PORT=$((19400 + $$ % 500))

start backup "$BACKUP" --listen "127.0.0.1:$PORT" --bad-after-acks 100 --ack-log "$WORK/acks.log"
wait_for "$WORK/backup.log" "listening"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-be" -- \
	--instance "$(vhost_instance lost 2 0 ftmb "backup=127.0.0.1:$PORT")" --stats "$WORK/stats.json"
wait_for "$WORK/vhost.log" "connected to backup"
ext_peer ext 1 --count $N --rate 10000 --flows 64 --wait-ms 500
guest lost 2 ftmb --log "$WORK/guest.trace"
wait_for "$WORK/guest_lost.log" "test-guest: ready"
go
wait_for "$WORK/backup.log" "sending a corrupt frame"
wait_for "$WORK/vhost.log" "WARNING: instance lost: backup .*checksum mismatch; holding outputs"
kill -USR1 "$PID_vhost"
wait_for "$WORK/vhost.log" "instance lost (ftmb, running)"
[ -s "$WORK/stats.json" ] || fail "SIGUSR1 wrote no statistics"
wait "$PID_ext" || fail "test-ext failed"
PID_ext=
wait_for "$WORK/vhost.log" "connected to backup .*" 5
kill -0 "$PID_vhost" || fail "ftmb-vhost died"
stop guest_lost
stop vhost
stop backup
grep -m1 "WARNING: instance lost: backup" "$WORK/vhost.log"
python3 "$(dirname "$0")/check_release.py" "$WORK/guest.trace" "$WORK/ext.rec" "$WORK/acks.log" ||
	fail "an output left without an ACK covering it"
python3 - "$WORK/stats.json" "$WORK/ext.rec" <<'PY' || fail "checks failed"
import json, sys
inst = json.load(open(sys.argv[1]))["instances"][0]
rows = sum(1 for _ in open(sys.argv[2]))
qs, link = inst["queues"], inst["backup"]
held = sum(q["held_now"] for q in qs)
out = sum(q["outputs"] for q in qs)
print(f"backup lost: outputs {out}, released {sum(q['released'] for q in qs)} (all before the "
      f"failure), held at exit {held}, back outside {rows}; link connects {link['connects']}, "
      f"failures {link['failures']}, durable {inst['durable']}")
assert inst["state"] == "running"
assert link["connects"] >= 2 and link["failures"] >= 1, "reconnected after the bad frame"
assert held > 0 and held + sum(q["released"] for q in qs) == out, "the rest is held, not lost"
PY
echo "PASS: a broken backup is logged and reconnected; outputs stay held"
