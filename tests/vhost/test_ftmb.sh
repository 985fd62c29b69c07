#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Mode ftmb: the guest logs a PAL per frame and tags its outputs; the fake
# backup acknowledges only what it received ACK_MS ago, so ftmb-vhost must
# hold every output until then. Checked from recorded evidence (guest trace
# of each output's dep vector, the backup's ACK log, the arrival time of
# each frame outside): no output left before an ACK covering its dep, every
# output the guest sent was released, no tag ever left; and a negative
# control (ACK times shifted later) must make the checker fail. A second
# run has the guest send each thread's outputs on another thread's TX queue.
. "$(dirname "$0")/lib.sh" || exit 1
ACK_MS=5
PORT=$((17400 + $$ % 500))

run_case() {
	local name=$1 n=$2
	shift 2
	rm -f "$WORK/go"
	start backup "$BACKUP" --listen "127.0.0.1:$PORT" --ack-delay-ms $ACK_MS \
		--ack-log "$WORK/$name.acks"
	wait_for "$WORK/backup.log" "listening"
	start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-$name" -- \
		--instance "$(vhost_instance f1 2 0 ftmb "backup=127.0.0.1:$PORT")" \
		--stats "$WORK/$name.json"
	wait_for "$WORK/vhost.log" "connected to backup"
	ext_peer ext 1 --count "$n" --rate 10000 --flows 64 --records "$WORK/$name.rec"
	guest f1 2 ftmb --log "$WORK/$name.trace" "$@"
	wait_for "$WORK/vhost.log" "instance f1: guest connected"
	wait_for "$WORK/guest_f1.log" "test-guest: ready"
	go
	wait "$PID_ext" || fail "$name: test-ext failed"
	PID_ext=
	stop guest_f1
	stop vhost
	stop backup
	grep "instance f1 (ftmb" "$WORK/vhost.log"
	grep -q "closing: [^p]" "$WORK/backup.log" && fail "$name: the backup rejected the stream"
	python3 "$(dirname "$0")/check_release.py" "$WORK/$name.trace" "$WORK/$name.rec" \
		"$WORK/$name.acks" || fail "$name: an output left before its ACK"
	if python3 "$(dirname "$0")/check_release.py" "$WORK/$name.trace" "$WORK/$name.rec" \
		"$WORK/$name.acks" --shift-acks-ms 1000; then
		fail "$name: negative control: the checker missed releases before (shifted) ACKs"
	fi
	python3 - "$WORK/$name.json" "$WORK/$name.rec" "$WORK/guest_f1.log" "$n" $ACK_MS "$name" \
		<<'PY' || fail "$name: checks failed"
import json, re, sys
inst = json.load(open(sys.argv[1]))["instances"][0]
rows = [l.split() for l in open(sys.argv[2])]
guest_tx = int(re.search(r"tx (\d+)", open(sys.argv[3]).read()).group(1))
n, ack_ms, name = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
qs = inst["queues"]
released = sum(q["released"] for q in qs)
waits = sum(q["input_waits"] for q in qs)
p50 = max(q["delay_p50_us"] for q in qs)
leaks = sum(int(r[8]) for r in rows)
print(f"{name}: sent {n}, input waited for the guest {waits} times, guest sent {guest_tx}, released "
      f"{released}, back outside {len(rows)}, leaks {leaks}, held at exit "
      f"{sum(q['held_now'] for q in qs)}, release delay p50 < {p50} us (ACK delay {ack_ms} ms), "
      f"logged {inst['logged']}, durable {inst['durable']}, RELEASED frames {inst['released_frames']}")
assert inst["state"] == "running"
assert released == guest_tx, "every output the guest sent is released"
assert inst["ext_tx"] == released == len(rows), "released outputs reach the outside"
assert leaks == 0, "no tag leaves"
assert n == inst["logged"]["in"][0] + inst["logged"]["in"][1], "every input logged"
assert p50 >= ack_ms * 1000 // 2, "outputs were held for the ACK delay"
assert all(q["released_seq"] == q["outputs"] for q in qs), "RELEASED watermark caught up"
assert inst["released_frames"] > 0
PY
	mv "$WORK/vhost.log" "$WORK/$name.log"
}

run_case straight 3000
run_case cross-tx 1000 --cross-tx
echo "PASS: mode ftmb holds every output until the backup acknowledged its dependencies"
