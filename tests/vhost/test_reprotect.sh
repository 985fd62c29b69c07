#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Re-protection, ftmb-vhost's side, without a VM. A primary with cut=pause
# runs under a fake backup; when its guest leaves, the device stop takes a
# cut (written into the region's cut slot, sent as CUT). The replay file is
# what hostd hands a replica restored from that checkpoint: HELLO and that
# CUT, with nothing after it (so no guest is needed: there is nothing to
# replay). A replica attached to that region with a new backup must send
# BASE, that very cut, as the first frame of its log, count the new
# backup's ACK of it as durable, go live and complete, and switch the
# region to mode record (what tells hostd it may checkpoint the VM for the
# new backup). Negative control: a region whose replay ring holds records
# its guest never read (a checkpoint taken mid-replay) is refused with a
# clear reason.
. "$(dirname "$0")/lib.sh" || exit 1
N=1000
PORT=$((21400 + $$ % 500))
REGION=/dev/shm/$TAG-r1

# --- the primary: a cut at every device stop
mkdir "$WORK/a" "$WORK/c"
start backup "$BACKUP" --listen "127.0.0.1:$PORT" --ack-delay-ms 1 --record-dir "$WORK/a"
wait_for "$WORK/backup.log" "listening"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-p" -- \
	--instance "$(vhost_instance r1 2 0 ftmb "backup=127.0.0.1:$PORT,cut=pause")" \
	--stats "$WORK/primary.json"
wait_for "$WORK/vhost.log" "connected to backup"
ext_peer ext 1 --count $N --rate 10000 --flows 64
guest r1 2 ftmb
wait_for "$WORK/guest_r1.log" "test-guest: ready"
go
wait "$PID_ext" || fail "primary: test-ext failed"
PID_ext=
stop guest_r1
# the device stop took its cut before the disconnection is reported
wait_for "$WORK/vhost.log" "guest disconnected"
stop vhost
stop backup
mv "$WORK/vhost.log" "$WORK/primary.log"
mv "$WORK/backup.log" "$WORK/backup_a.log"
cp "$REGION" "$WORK/restored.region"

# --- the replay file: HELLO and the last CUT
python3 - "$WORK/a/r1.frames" "$WORK/r1.replay" "$WORK/cut.bin" <<'PY' || fail "no cut recorded"
import struct, sys
data, off, frames = open(sys.argv[1], "rb").read(), 0, []
while off < len(data):
    length, ftype = struct.unpack_from("<IB", data, off)
    frames.append((ftype, data[off:off + 12 + length]))
    off += 12 + length
cuts = [f for t, f in frames if t == 5]
assert frames[0][0] == 1 and cuts, "a HELLO, then at least one CUT"
epoch, n = struct.unpack_from("<QH", cuts[-1], 12)
vec = struct.unpack_from(f"<{2 * n}Q", cuts[-1], 28)
print(f"primary: {len(cuts)} cuts; the last: epoch {epoch}, inputs {list(vec[:n])}, "
      f"PALs {list(vec[n:])}")
open(sys.argv[2], "wb").write(frames[0][1] + cuts[-1])
open(sys.argv[3], "wb").write(cuts[-1][12:])
PY

# --- the replica, protected by a new backup
replica() {
	local name=$1
	start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-$name" -- \
		--instance "$(vhost_instance r1 2 0 ftmb \
			"replay=$WORK/r1.replay,cut=pause,backup=127.0.0.1:$PORT")" \
		--stats "$WORK/$name.json"
}

start backup "$BACKUP" --listen "127.0.0.1:$PORT" --ack-delay-ms 1 --record-dir "$WORK/c" \
	--ack-log "$WORK/acks_c.log"
wait_for "$WORK/backup.log" "listening"
replica replica
wait_for "$WORK/vhost.log" "replica is a primary now"
wait_for "$WORK/acks_c.log" "ack r1"
sleep 0.5 # for the replica's loop to read that ACK
stop vhost
stop backup
mv "$WORK/vhost.log" "$WORK/replica.log"
mv "$WORK/backup.log" "$WORK/backup_c.log"
mode=$(od -An -t u4 -j 20 -N 4 "$REGION" | tr -d ' ')
grep -E "protected again|replica live|replay complete|replica is a primary" "$WORK/replica.log" |
	sed 's/^.*instance/instance/'
python3 - "$WORK/c/r1.frames" "$WORK/cut.bin" "$WORK/replica.json" \
	"$mode" <<'PY' || fail "re-protection checks failed"
import json, struct, sys
data, cut = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
inst = json.load(open(sys.argv[3]))["instances"][0]
mode, ok = int(sys.argv[4]), True
epoch, n = struct.unpack_from("<QH", cut, 0)
vec = struct.unpack_from(f"<{2 * n}Q", cut, 16)
base = {"in": list(vec[:n]), "pal": list(vec[n:])}

def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok &= bool(cond)

length, ftype = struct.unpack_from("<IB", data, 0)
first = data[12 + length:]
flen, ftype = struct.unpack_from("<IB", first, 0)
check(ftype == 10 and first[12:12 + flen] == cut,
      f"the new backup's log starts with BASE = the restored cut (epoch {epoch}, {base})")
check(inst["logged"] == base and inst["durable"] == base,
      f"numbering resumes at the cut, and the backup's ACK of BASE is durable: {inst['durable']}")
check(inst["cuts"]["epoch"] == epoch and inst["cuts"]["committed"] == epoch,
      f"epochs go on from {epoch}")
check(inst["backup"]["pending_bytes"] == 0, "everything queued was sent")
check(inst["replay"]["live"] and inst["replay"]["complete"], "the replica is live and complete")
check(mode == 1, f"the region is in mode record ({mode})")
sys.exit(0 if ok else 1)
PY

# --- negative control: a replay ring with records its guest never read
cp "$WORK/restored.region" "$REGION"
python3 - "$REGION" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    hdr = f.read(80)
    replay_off = struct.unpack_from("<IHHQIIQIIQQQQ", hdr, 0)[11]
    f.seek(replay_off)
    f.write(struct.pack("<Q", 3))  # thread 0: head 3, tail 0
PY
mkdir "$WORK/c2"
start backup "$BACKUP" --listen "127.0.0.1:$PORT" --record-dir "$WORK/c2"
wait_for "$WORK/backup.log" "listening"
replica refused
wait "$PID_vhost" && fail "negative control: a replica started on a ring with unread records"
PID_vhost=
grep -q "records its guest never read" "$WORK/vhost.log" ||
	fail "negative control: no clear reason given"
grep -m1 -o "thread 0's restored replay ring.*" "$WORK/vhost.log"
echo "PASS: a re-protected replica starts its new backup's log at its cut, goes to mode record"
