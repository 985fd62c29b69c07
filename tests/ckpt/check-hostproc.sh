#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ftmb-vhost's mode checkpoint in host-process mode, with the real backup:
# ftmb-monitor (2 threads, virtio-user) behind ftmb-vhost with
# mode=checkpoint,ckpt_interval_ms=20. There is no VM to checkpoint, so each
# cut is a checkpoint of size zero, committed by ftmb-hostd as soon as it
# arrives: what this measures is the output-buffering cost of
# checkpoint-then-release alone, a lower bound on Remus' latency.
#   1. every output comes back, and the backup commits the cuts;
#   2. outputs wait for a commit: with the backup frozen (SIGSTOP) none is
#      released while the guest goes on producing them; once it runs again
#      (SIGCONT) all are.
# Reuses the helpers of ftmb-vhost's own tests (tests/vhost/lib.sh).
. "$(dirname "$0")/../vhost/lib.sh" || exit 1
N=2000
N2=400
PORT=$((22500 + $$ % 400))
INTERVAL=20

cat >"$WORK/hostd.conf" <<CONF
[hostd]
name = hostB
listen = 127.0.0.1:$PORT
control_socket = $WORK/hostd.sock
state_dir = $WORK
[peers]
hostB = 127.0.0.1:$PORT
hostA = 127.0.0.1:$((PORT + 1))
CONF
start hostd "$BUILD/ftmb-hostd" --config "$WORK/hostd.conf"
wait_for "$WORK/hostd.log" "listening for replication streams"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-p" -- \
	--instance "$(vhost_instance cp1 2 0 checkpoint "backup=127.0.0.1:$PORT,vars=16,ckpt_interval_ms=$INTERVAL")" \
	--stats "$WORK/stats.json"
wait_for "$WORK/vhost.log" "connected to backup"
ext_peer ext 1 --count $N --rate 5000 --flows 64
start monitor "$BUILD/ftmb-monitor" --threads 2 --region "/dev/shm/$TAG-cp1" \
	--io "dpdk:$EAL -m 256 --file-prefix=$TAG-mon --vdev=net_virtio_user0,path=$WORK/cp1.vhost,queues=2"
wait_for "$WORK/vhost.log" "instance cp1: guest connected"
sleep 0.3
go
wait "$PID_ext" || fail "test-ext failed"
PID_ext=

stats() {
	rm -f "$WORK/stats.json"
	kill -USR1 "$PID_vhost"
	wait_for "$WORK/stats.json" "instances"
	cp "$WORK/stats.json" "$WORK/stats-$1.json"
}
stats 1

# 2. The backup frozen: outputs must stay held.
kill -STOP "$PID_hostd"
start ext2 "$EXT" $EAL -m 256 --file-prefix="$TAG-ext2" \
	--vdev "net_memif0,role=client,socket=$WORK/ext0.sock" \
	-- --go-file "$WORK/go2" --records "$WORK/ext2.rec" --count $N2 --rate 2000 --flows 64 \
	--first-flow 64 --wait-ms 20000
wait_for "$WORK/ext2.log" "waiting for links"
touch "$WORK/go2"
sleep 1.5
stats 2
kill -CONT "$PID_hostd"
wait "$PID_ext2" || fail "test-ext (second run) failed"
PID_ext2=
stats 3
stop monitor
stop vhost
stop hostd
grep -q "ERR: instance cp1 stopped" "$WORK/vhost.log" && fail "ftmb-vhost stopped the instance"
python3 - "$WORK" $N $N2 $INTERVAL <<'PY' || fail "checks failed"
import json, sys
work, n, n2, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = [json.load(open(f"{work}/stats-{i}.json"))["instances"][0] for i in (1, 2, 3)]
rows1 = [l.split() for l in open(f"{work}/ext.rec")]
rows2 = [l.split() for l in open(f"{work}/ext2.rec")]
def tot(st, k): return sum(q[k] for q in st["queues"])
c = s[0]["cuts"]
delay = [q["delay_p50_us"] for q in s[0]["queues"]], [q["delay_p99_us"] for q in s[0]["queues"]]
print(f"mode checkpoint, host process, a zero-size checkpoint every {interval} ms (a lower bound "
      f"on Remus' latency): {len(rows1)} of {n} back, {c['epoch']} cuts, {c['commits']} commits; "
      f"release delay p50 < {max(delay[0])} us, p99 < {max(delay[1])} us (histogram bucket bounds)")
assert s[0]["mode"] == "checkpoint" and s[0]["state"] == "running"
assert len(rows1) == tot(s[0], "inputs") == tot(s[0], "released") > 0.9 * n, "every output came back"
assert all(r[8] == "0" for r in rows1), "no ftmb metadata leaks"
assert c["commits"] > 0 and c["committed"] >= c["epoch"] - 5, "the backup commits the cuts"
out_frozen = tot(s[1], "outputs") - tot(s[0], "outputs")
rel_frozen = tot(s[1], "released") - tot(s[0], "released")
held = sum(q["held_now"] for q in s[1]["queues"])
print(f"backup frozen: the guest produced {out_frozen} outputs, {rel_frozen} released, {held} "
      f"held; cuts {s[1]['cuts']['epoch']}, committed {s[1]['cuts']['committed']}")
assert out_frozen > 0.5 * n2 and rel_frozen == 0 and held == out_frozen, \
    "nothing leaves while no cut is committed"
print(f"backup running again: {len(rows2)} of {n2} back, released {tot(s[2], 'released')}, "
      f"held {sum(q['held_now'] for q in s[2]['queues'])}")
assert len(rows2) == tot(s[2], "inputs") - tot(s[0], "inputs") and \
    sum(q["held_now"] for q in s[2]["queues"]) == 0, "all released after the commit"
PY
echo "PASS: mode checkpoint releases outputs only once the backup commits the checkpoint after them"
