#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A connection to the backup that drops mid-stream, with frames in flight
# the backup never read. ftmb-vhost must reconnect and send again from the
# first frame the backup had not acknowledged, so that the backup's log has
# no hole (the fake backup, like hostd, keeps its log across connections,
# skips what it holds already and refuses a hole); then every output is
# released, none before its ACK.
. "$(dirname "$0")/lib.sh" || exit 1
N=3000
PORT=$((20900 + $$ % 500))

start backup "$BACKUP" --listen "127.0.0.1:$PORT" --ack-delay-ms 1 --drop-after-acks 100 \
	--ack-log "$WORK/acks.log" --record-dir "$WORK"
wait_for "$WORK/backup.log" "listening"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-be" -- \
	--instance "$(vhost_instance rc 2 0 ftmb "backup=127.0.0.1:$PORT")" --stats "$WORK/stats.json"
wait_for "$WORK/vhost.log" "connected to backup"
ext_peer ext 1 --count $N --rate 10000 --flows 64
guest rc 2 ftmb --log "$WORK/guest.trace"
wait_for "$WORK/guest_rc.log" "test-guest: ready"
go
wait "$PID_ext" || fail "test-ext failed"
PID_ext=
stop guest_rc
stop vhost
stop backup
grep -E "closing|WARNING" "$WORK/backup.log" "$WORK/vhost.log" | sed 's|^.*/||'
grep -q "out of order" "$WORK/backup.log" && fail "the backup's log would have a hole"
python3 "$(dirname "$0")/check_release.py" "$WORK/guest.trace" "$WORK/ext.rec" "$WORK/acks.log" ||
	fail "an output left before its ACK"
python3 - "$WORK/stats.json" "$WORK/ext.rec" "$WORK/guest_rc.log" <<'PY' || fail "checks failed"
import json, re, sys
inst = json.load(open(sys.argv[1]))["instances"][0]
rows = sum(1 for _ in open(sys.argv[2]))
guest_tx = int(re.search(r"tx (\d+)", open(sys.argv[3]).read()).group(1))
qs, link = inst["queues"], inst["backup"]
released = sum(q["released"] for q in qs)
print(f"reconnect: link connects {link['connects']}, failures {link['failures']}; guest sent "
      f"{guest_tx}, released {released}, back outside {rows}, held at exit "
      f"{sum(q['held_now'] for q in qs)}; logged {inst['logged']}, durable {inst['durable']}")
assert link["connects"] == 2 and link["failures"] == 1
assert released == guest_tx == rows, "every output released after the reconnection"
assert inst["durable"] == inst["logged"], "the backup holds the whole log"
PY
echo "PASS: after a dropped connection the log resumes without a hole"
