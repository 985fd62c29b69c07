#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Failover with libftmb's monitor (the sharp probe: it stamps each packet
# with a global count taken under a shared lock, so every released count
# must be unique). The primary runs until the fake backup stops
# acknowledging, so outputs are held; then ftmb-vhost and the monitor are
# killed (-9). A replica (fresh monitor, ftmb-vhost with replay= of what
# the backup recorded) takes over and gets new traffic. Outputs the primary
# released are suppressed; the held ones are released by the replica with
# the same global counts they had; together they cover every logged input
# once, except outputs the replica's monitor itself dropped (its TX ring
# full while the replay floods it: counted); and no global count is given
# twice.
. "$(dirname "$0")/lib.sh" || exit 1
N=2000
M=500
PORT=$((20400 + $$ % 500))
MONITOR=$BUILD/ftmb-monitor

monitor() {
	start monitor "$MONITOR" --threads 2 --region "/dev/shm/$TAG-mon" \
		--io "dpdk:$EAL -m 256 --file-prefix=$TAG-mon$1 --vdev=net_virtio_user0,path=$WORK/mon.vhost,queues=2"
}

# --- the primary, until its backup goes quiet, then killed
start backup "$BACKUP" --listen "127.0.0.1:$PORT" --ack-delay-ms 1 --mute-after-acks 150 \
	--record-dir "$WORK"
wait_for "$WORK/backup.log" "listening"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-p" -- \
	--instance "$(vhost_instance mon 2 0 ftmb "backup=127.0.0.1:$PORT,vars=16")" \
	--stats "$WORK/primary.json"
wait_for "$WORK/vhost.log" "connected to backup"
ext_peer ext 1 --count $N --rate 10000 --flows 64 --wait-ms 500 --records "$WORK/primary.rec"
monitor p
wait_for "$WORK/vhost.log" "instance mon: guest connected"
sleep 0.3
go
wait "$PID_ext" || fail "primary: test-ext failed"
PID_ext=
kill -USR1 "$PID_vhost"
wait_for "$WORK/vhost.log" "instance mon (ftmb, running)"
kill -9 "$PID_vhost" "$PID_monitor"
wait "$PID_vhost" "$PID_monitor" 2>/dev/null
PID_vhost=
PID_monitor=
stop backup
grep "instance mon (ftmb" "$WORK/vhost.log"
mv "$WORK/vhost.log" "$WORK/primary.log"
rm -f "$WORK/go"

# --- the replica
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-r" -- \
	--instance "$(vhost_instance mon 2 0 ftmb "replay=$WORK/mon.frames,vars=16,settle=300")" \
	--stats "$WORK/replica.json"
wait_for "$WORK/vhost.log" "serving 1 instance"
ext_peer ext 1 --count $M --rate 10000 --flows 64 --first-flow 1000 --wait-ms 1000 \
	--expect-back $((N + M)) \
	--records "$WORK/replica.rec"
monitor r
wait_for "$WORK/vhost.log" "instance mon: guest connected"
go # new traffic waits outside until the replica is live; released outputs flow at once
wait_for "$WORK/vhost.log" "replica live"
wait "$PID_ext" || fail "replica: test-ext failed"
PID_ext=
stop monitor
stop vhost
grep -E "replica live|DIVERGENCE|instance mon \(ftmb" "$WORK/vhost.log"
grep "ftmb-monitor: thread" "$WORK/monitor.log"
grep -q "ERR:" "$WORK/vhost.log" && fail "the replica reported an error"
python3 - "$WORK" <<'PY' || fail "failover checks failed"
import json, re, struct, sys
w = sys.argv[1]


def released(path):
    out = {}
    for line in open(path):
        f = line.split()
        out.setdefault((int(f[2]), int(f[3])), []).append(int(f[6]))
    return out


def logged_inputs(path):
    data, off, keys = open(path, "rb").read(), 0, set()
    while off < len(data):
        length, ftype = struct.unpack_from("<IB", data, off)
        if ftype == 2:  # INPUT: the test payload follows Ethernet, IPv4, UDP
            magic, flow, seq = struct.unpack_from("<IIQ", data, off + 12 + 16 + 42)
            if magic == 0x544B5054:
                keys.add((flow, seq))
        off += 12 + length
    return keys


prim, repl = released(f"{w}/primary.rec"), released(f"{w}/replica.rec")
tx_failed = sum(int(re.search(r"tx-failed (\d+)", l).group(1))
                for l in open(f"{w}/monitor.log") if "ftmb-monitor: thread" in l)
logged = logged_inputs(f"{w}/mon.frames")
inst = json.load(open(f"{w}/replica.json"))["instances"][0]
old = {k: v for k, v in repl.items() if k[0] < 1000}
new = {k: v for k, v in repl.items() if k[0] >= 1000}
both = set(prim) & set(old)
print(f"failover: primary released {len(prim)}, logged inputs {len(logged)}; replica re-released "
      f"{len(old)} held ones ({len(both)} also released by the primary), then {len(new)} new; "
      f"suppressed {[q['suppressed'] for q in inst['queues']]}, divergences "
      f"{inst['replay']['divergences']}, dropped by the replica's monitor {tx_failed}")
assert all(len(v) == 1 for v in list(prim.values()) + list(repl.values())), "each released once per side"
assert all(prim[k] == old[k] for k in both), "a re-released output is an identical duplicate"
covered = set(prim) | set(old)
assert covered <= logged, "only logged inputs' outputs"
counts = {}
for d in (prim, old, new):
    for k, v in d.items():
        counts.setdefault(v[0], set()).add(k)
dup = {g: ks for g, ks in counts.items() if len(ks) > 1}
assert not dup, f"global counts given to two packets: {list(dup.items())[:3]}"
assert inst["replay"]["live"] and inst["replay"]["divergences"] == 0
print(f"failover: new traffic: {inst['ext_rx']} taken from the port after going live, "
      f"{len(new)} back")
missing = len(logged - covered) + inst["ext_rx"] - len(new)
assert len(new) > 0, "the replica serves new traffic"
assert missing <= tx_failed, "every output is released by the primary or the replica, " \
    "unless the monitor itself dropped it"
PY
echo "PASS: the replica released exactly what the primary held, with the same counts, then went on"
