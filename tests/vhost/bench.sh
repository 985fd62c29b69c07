#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Side-by-side throughput of mode off and mode ftmb, same run, same machine:
# test-ext keeps WINDOW frames in flight through a memif port, ftmb-vhost
# (1 queue pair), the test guest (one PAL and one tagged output per frame)
# and, in mode ftmb, the fake backup acknowledging at once. Four polling
# processes share this machine's cores (each sleeps when idle), so these are
# frames per second of the whole loop, not of ftmb-vhost alone.
# Exits 0 when both modes moved traffic; prints what it measured.
. "$(dirname "$0")/lib.sh" || exit 1
SECS=${BENCH_SECS:-3}
WINDOW=${BENCH_WINDOW:-256}
PORT=$((18900 + $$ % 500))

run_mode() {
	local mode=$1 extra=""
	rm -f "$WORK/go"
	if [ "$mode" = ftmb ]; then
		start backup "$BACKUP" --listen "127.0.0.1:$PORT"
		wait_for "$WORK/backup.log" "listening"
		extra="backup=127.0.0.1:$PORT"
	fi
	start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-$mode" -- \
		--instance "$(vhost_instance b$mode 1 0 $mode "$extra")" --stats "$WORK/$mode.json"
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
	sed -n "s/^test-ext: port 0 throughput \([0-9.]*\) Mpps.*/\1/p" "$WORK/ext.log" > "$WORK/$mode.mpps"
	grep "throughput" "$WORK/ext.log" | sed "s/^/$mode: /"
	mv "$WORK/vhost.log" "$WORK/vhost-$mode.log"
}

run_mode off
run_mode ftmb
python3 - "$WORK" <<'PY' || fail "a mode moved no traffic"
import json, sys
w = sys.argv[1]
off, ftmb = (float(open(f"{w}/{m}.mpps").read() or 0) for m in ("off", "ftmb"))
q = json.load(open(f"{w}/ftmb.json"))["instances"][0]["queues"][0]
print(f"bench: mode off {off:.3f} Mpps, mode ftmb {ftmb:.3f} Mpps "
      f"({100 * ftmb / off if off else 0:.0f}% of off); ftmb release delay p50 < {q['delay_p50_us']} us, "
      f"p99 < {q['delay_p99_us']} us (dequeue to release, ACKs at once from a local fake backup)")
assert off > 0 and ftmb > 0
PY
