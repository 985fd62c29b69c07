#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Mode off (the baseline) forwards both ways: test-ext sends frames over a
# memif port (DPDK net_memif, no hugepages needed) into ftmb-vhost, which
# spreads them by RSS over the guest's 2 RX queues; the guest echoes each
# on its TX queue and ftmb-vhost sends it back out of the memif port.
# A guest RX ring that is full refuses frames for a while (the processes
# share 2 cores with whatever else runs): they wait in ftmb-vhost, and the
# external port with them, so every frame must come back.
. "$(dirname "$0")/lib.sh" || exit 1
N=2000

start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-be" -- \
	--instance "$(vhost_instance off1 2 0 off)" --stats "$WORK/stats.json"
wait_for "$WORK/vhost.log" "serving 1 instance"
ext_peer ext 1 --count $N --rate 20000 --flows 64
guest off1 2 off
wait_for "$WORK/vhost.log" "instance off1: guest connected"
wait_for "$WORK/guest_off1.log" "test-guest: ready"
go
wait "$PID_ext" || fail "test-ext failed"
PID_ext=
stop guest_off1
stop vhost
grep "test-ext: port 0" "$WORK/ext.log"
python3 - "$WORK/stats.json" "$WORK/ext.rec" $N <<'PY' || fail "checks failed"
import json, sys
stats, rec, n = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
inst = stats["instances"][0]
rows = [l.split() for l in open(rec)]
got = {(int(r[2]), int(r[3])) for r in rows}
leaks = sum(int(r[8]) for r in rows)
per_q = [q["inputs"] for q in inst["queues"]]
print(f"mode off: {len(rows)} of {n} frames back, {len(got)} distinct, leaks {leaks}, "
      f"per-queue inputs {per_q}, ext_rx {inst['ext_rx']} ext_tx {inst['ext_tx']}, a full RX "
      f"ring made input wait {sum(q['input_waits'] for q in inst['queues'])} times")
qs = inst["queues"]
assert len(got) == len(rows), "no frame comes back twice"
assert inst["ext_rx"] == n
assert len(rows) == inst["ext_tx"] == n, "every frame comes back"
assert leaks == 0, "frames come back unchanged"
assert all(c > 0 for c in per_q), "RSS spreads flows over both queues"
assert sum(q["inputs"] for q in qs) == inst["ext_rx"]
assert sum(q["released"] for q in qs) == sum(q["outputs"] for q in qs) == n
PY
echo "PASS: mode off forwards $N frames both ways through memif"
