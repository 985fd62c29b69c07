#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ftmb-vhost against the real backup, ftmb-hostd: the log stream is accepted
# and acknowledged (the durable vector reaches everything logged), every
# output is released; when the stream closes, hostd dumps a replay file,
# and a replica ftmb-vhost replays that file to a fresh test guest and goes
# live with the logged inputs and no divergence.
. "$(dirname "$0")/lib.sh" || exit 1
N=2000
PORT=$((21500 + $$ % 400))
HOSTD=$BUILD/ftmb-hostd

cat >"$WORK/hostd.conf" <<CONF
[hostd]
name = hostB
listen = 127.0.0.1:$PORT
control_socket = $WORK/hostd.sock
state_dir = $WORK
failure_timeout_ms = 60000

[peers]
hostA = 127.0.0.1:$((PORT + 1))
hostB = 127.0.0.1:$PORT

[instance hd1]
primary = hostA
backup = hostB
on_backup_lost = halt
replica_vhost = /bin/true %LOG%
replica_middlebox = /bin/true
CONF
start hostd "$HOSTD" --config "$WORK/hostd.conf"
wait_for "$WORK/hostd.log" "listening for replication streams"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-p" -- \
	--instance "$(vhost_instance hd1 2 0 ftmb "backup=127.0.0.1:$PORT")" --stats "$WORK/primary.json"
wait_for "$WORK/vhost.log" "connected to backup"
ext_peer ext 1 --count $N --rate 10000 --flows 64
guest hd1 2 ftmb
wait_for "$WORK/guest_hd1.log" "test-guest: ready"
go
wait "$PID_ext" || fail "primary: test-ext failed"
PID_ext=
stop guest_hd1
# A failure, not a planned stop (after which the backup would not fail over):
# statistics first, then SIGKILL.
kill -USR1 "$PID_vhost"
wait_for "$WORK/primary.json" "instances"
kill -9 "$PID_vhost"
wait "$PID_vhost" 2>/dev/null
PID_vhost=
wait_for "$WORK/hostd.log" "log dumped"
stop hostd
mv "$WORK/vhost.log" "$WORK/primary.log"
grep "instance hd1 (ftmb" "$WORK/primary.log"
grep -E "log stream from|log dumped" "$WORK/hostd.log" | sed 's/^.*NOTICE: //; s/^.*WARNING: //'
python3 - "$WORK/primary.json" <<'PY' || fail "primary checks failed"
import json, sys
inst = json.load(open(sys.argv[1]))["instances"][0]
qs = inst["queues"]
print(f"hostd backup: logged {inst['logged']}, durable {inst['durable']}, released "
      f"{sum(q['released'] for q in qs)} of {sum(q['outputs'] for q in qs)} outputs")
assert inst["durable"] == inst["logged"], "hostd acknowledged everything"
assert sum(q["released"] for q in qs) == sum(q["outputs"] for q in qs) > 0
assert inst["backup"]["failures"] == 0
PY

REPLAY=$(ls "$WORK"/hd1-*.replay)
rm -f "$WORK/go"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-r" -- \
	--instance "$(vhost_instance hd1 2 0 ftmb "replay=$REPLAY,settle=300")" --stats "$WORK/replica.json"
wait_for "$WORK/vhost.log" "serving 1 instance"
ext_peer ext 1 --count 200 --rate 10000 --flows 64 --first-flow 1000 --expect-back 0 --wait-ms 500 \
	--records "$WORK/replica.rec"
guest hd1 2 ftmb
wait_for "$WORK/vhost.log" "instance hd1: guest connected"
go
wait_for "$WORK/vhost.log" "replica live" 20
wait "$PID_ext" || fail "replica: test-ext failed"
PID_ext=
stop guest_hd1
stop vhost
grep -E "replica live|DIVERGENCE" "$WORK/vhost.log"
grep -q "DIVERGENCE\|ERR:" "$WORK/vhost.log" && fail "the replica diverged from hostd's log"
python3 - "$WORK/primary.json" "$WORK/replica.json" <<'PY' || fail "replica checks failed"
import json, sys
prim = json.load(open(sys.argv[1]))["instances"][0]
repl = json.load(open(sys.argv[2]))["instances"][0]
rp = repl["replay"]
print(f"hostd replay file: fed inputs {rp['fed_inputs']} (primary logged {prim['logged']['in']}), "
      f"records {rp['fed_records']}, RELEASED watermarks {rp['logged_released']}, suppressed "
      f"{[q['suppressed'] for q in repl['queues']]}")
assert rp["live"] and rp["divergences"] == 0
assert rp["fed_inputs"] == prim["logged"]["in"] and rp["fed_records"] == prim["logged"]["pal"]
assert [q["suppressed"] for q in repl["queues"]] == rp["logged_released"]
PY
echo "PASS: ftmb-hostd holds ftmb-vhost's log, and its replay file drives a replica"
