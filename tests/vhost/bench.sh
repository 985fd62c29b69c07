#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Side-by-side throughput of mode off and mode ftmb, same run, same machine:
# test-ext keeps WINDOW frames in flight through a memif port, ftmb-vhost
# (1 queue pair), the test guest (one PAL and one tagged output per frame)
# and, in mode ftmb, the fake backup acknowledging at once. Four polling
# processes share this machine's cores (each sleeps when idle), so these are
# frames per second of the whole loop, not of ftmb-vhost alone; the machine
# may be shared, so the modes alternate, ROUNDS times each, and the best of
# each is printed. ftmb-vhost's own cost is measured apart: the time its loop
# spent in iterations that found work, per frame forwarded.
# Exits 0 when both modes moved traffic; prints what it measured.
. "$(dirname "$0")/lib.sh" || exit 1
SECS=${BENCH_SECS:-2}
ROUNDS=${BENCH_ROUNDS:-2}
WINDOW=${BENCH_WINDOW:-256}
PORT=$((18900 + $$ % 500))

run_mode() {
	local mode=$1 round=$2 extra=""
	rm -f "$WORK/go"
	if [ "$mode" = ftmb ]; then
		start backup "$BACKUP" --listen "127.0.0.1:$PORT"
		wait_for "$WORK/backup.log" "listening"
		extra="backup=127.0.0.1:$PORT"
	fi
	start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-$mode" -- \
		--instance "$(vhost_instance b$mode 1 0 $mode "$extra")" --stats "$WORK/$mode-$round.json"
	wait_for "$WORK/vhost.log" "serving 1 instance"
	ext_peer ext 1 --duration "$SECS" --window "$WINDOW" --flows 64
	guest "b$mode" 1 "$mode"
	wait_for "$WORK/guest_b$mode.log" "test-guest: ready"
	sleep 0.2
	go
	wait "$PID_ext" || fail "$mode: test-ext failed"
	PID_ext=
	stop "guest_b$mode"
	stop vhost
	stop backup
	sed -n "s/^test-ext: port 0 throughput \([0-9.]*\) Mpps.*/\1/p" "$WORK/ext.log" > "$WORK/$mode-$round.mpps"
	grep "throughput" "$WORK/ext.log" | sed "s/^/$mode: /"
	mv "$WORK/vhost.log" "$WORK/vhost-$mode-$round.log"
}

for ((r = 1; r <= ROUNDS; r++)); do
	run_mode off $r
	run_mode ftmb $r
done
python3 - "$WORK" "$ROUNDS" <<'PY' || fail "a mode moved no traffic"
import json, sys
w, rounds = sys.argv[1], int(sys.argv[2])
res = {}
for m in ("off", "ftmb"):
    best = None
    for r in range(1, rounds + 1):
        mpps = float(open(f"{w}/{m}-{r}.mpps").read() or 0)
        st = json.load(open(f"{w}/{m}-{r}.json"))
        inst = st["instances"][0]
        ns = st["loop"]["busy_ns"] / max(inst["ext_tx"], 1)
        if best is None or mpps > best[0]:
            best = (mpps, ns, inst["queues"][0])
    res[m] = best
(off, off_ns, _), (ftmb, ftmb_ns, q) = res["off"], res["ftmb"]
print(f"bench: best of {rounds}: mode off {off:.3f} Mpps, mode ftmb {ftmb:.3f} Mpps "
      f"({100 * ftmb / off if off else 0:.0f}% of off), whole loop on a shared 2-core machine")
print(f"bench: ftmb-vhost busy time per frame forwarded: off {off_ns:.0f} ns, ftmb {ftmb_ns:.0f} ns "
      f"(+{ftmb_ns - off_ns:.0f} ns for tag, log, PAL drain, hold/release, replication)")
print(f"bench: ftmb release delay (dequeue to release, ACKs at once from a local fake backup): "
      f"p50 < {q['delay_p50_us']} us, p99 < {q['delay_p99_us']} us")
assert off > 0 and ftmb > 0
PY
