#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real thing in host-process mode: libftmb's example monitor (2 worker
# threads, one shared counter, DPDK virtio-user) behind ftmb-vhost in mode
# ftmb with the fake backup. Every frame the monitor took must come back
# released, untagged, with a unique global count (the monitor's stamp), and
# the instance must never be stopped: libftmb and ftmb-vhost agree on the
# region, the PAL rings and both tags.
. "$(dirname "$0")/lib.sh" || exit 1
N=2000
PORT=$((19900 + $$ % 500))
MONITOR=$BUILD/ftmb-monitor

start backup "$BACKUP" --listen "127.0.0.1:$PORT" --ack-delay-ms 1
wait_for "$WORK/backup.log" "listening"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-be" -- \
	--instance "$(vhost_instance mon 2 0 ftmb "backup=127.0.0.1:$PORT,vars=16")" \
	--stats "$WORK/stats.json"
wait_for "$WORK/vhost.log" "connected to backup"
ext_peer ext 1 --count $N --rate 10000 --flows 64
start monitor "$MONITOR" --threads 2 --region "/dev/shm/$TAG-mon" \
	--io "dpdk:$EAL -m 256 --file-prefix=$TAG-mon --vdev=net_virtio_user0,path=$WORK/mon.vhost,queues=2"
wait_for "$WORK/vhost.log" "instance mon: guest connected"
sleep 0.3
go
wait "$PID_ext" || fail "test-ext failed"
PID_ext=
stop monitor
stop vhost
stop backup
grep "instance mon (ftmb" "$WORK/vhost.log"
grep -q "ERR: instance mon stopped" "$WORK/vhost.log" && fail "ftmb-vhost stopped libftmb's monitor"
python3 - "$WORK/stats.json" "$WORK/ext.rec" $N <<'PY' || fail "checks failed"
import json, sys
inst = json.load(open(sys.argv[1]))["instances"][0]
rows = [l.split() for l in open(sys.argv[2])]
n = int(sys.argv[3])
qs = inst["queues"]
took = sum(q["inputs"] for q in qs)
globals_ = [int(r[6]) for r in rows]
print(f"monitor: took {took} of {n}, released {sum(q['released'] for q in qs)}, back {len(rows)}, "
      f"unique global counts {len(set(globals_))}, PALs {[q['pals'] for q in qs]}, "
      f"leaks {sum(int(r[8]) for r in rows)}")
assert inst["state"] == "running"
assert took > 0.8 * n and len(rows) == took == sum(q["released"] for q in qs)
assert len(set(globals_)) == len(globals_), "every released global count is unique"
assert all(r[8] == "0" for r in rows)
assert sum(q["pals"] for q in qs) >= took, "one PAL per packet at least"
PY
echo "PASS: libftmb's monitor runs behind ftmb-vhost in mode ftmb"
