#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Replay (failover): a primary runs with the fake backup recording its
# replication stream; then a replica (fresh guest, region in replay mode,
# no backup) is fed that recording. The replica must hand the guest every
# logged input again on the same queue with the same sequence number and
# bytes, before any new input; give each thread its logged PAL records (the
# guest's PALs must match them: no divergence) and close the replay rings;
# write the per-variable horizons; suppress every output up to the logged
# RELEASED watermark; then go live, numbering new inputs after the logged
# ones, and once the guest has reproduced every logged record switch the
# region to mode record (a primary now, which hostd may re-protect). A
# negative control perturbs one replayed PAL: a divergence must be reported
# and the region must stay in mode replay. (settle=300: the fresh guest process's virtio PMD flushes its RX
# rings while it starts; on a loaded machine that can take a while.)
. "$(dirname "$0")/lib.sh" || exit 1
N=1000
M=400
PORT=$((18400 + $$ % 500))

# --- the primary, recorded by the fake backup
start backup "$BACKUP" --listen "127.0.0.1:$PORT" --ack-delay-ms 1 --record-dir "$WORK"
wait_for "$WORK/backup.log" "listening"
start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-p" -- \
	--instance "$(vhost_instance r1 2 0 ftmb "backup=127.0.0.1:$PORT")" --stats "$WORK/primary.json"
wait_for "$WORK/vhost.log" "connected to backup"
ext_peer ext 1 --count $N --rate 10000 --flows 64
guest r1 2 ftmb --log "$WORK/primary.trace"
wait_for "$WORK/guest_r1.log" "test-guest: ready"
go
wait "$PID_ext" || fail "primary: test-ext failed"
PID_ext=
stop guest_r1
stop vhost
stop backup
mv "$WORK/vhost.log" "$WORK/primary.log"
grep "instance r1 (ftmb" "$WORK/primary.log"
ls -l "$WORK/r1.frames" | awk '{print "replay file: " $5 " bytes"}'

# --- the replica
replica() {
	local name=$1
	shift
	rm -f "$WORK/go"
	start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-$name" -- \
		--instance "$(vhost_instance r1 2 0 ftmb "replay=$WORK/r1.frames,settle=300")" \
		--stats "$WORK/$name.json"
	wait_for "$WORK/vhost.log" "serving 1 instance"
	ext_peer ext 1 --count $M --rate 10000 --flows 64 --records "$WORK/$name.rec"
	guest r1 2 ftmb --log "$WORK/$name.trace" "$@"
	wait_for "$WORK/guest_r1.log" "test-guest: ready, mode ftmb, 2 queues, replaying"
	go
	wait "$PID_ext" || fail "$name: test-ext failed"
	PID_ext=
	stop guest_r1
	stop vhost
	cp "/dev/shm/$TAG-r1" "$WORK/$name.region"
	mv "$WORK/vhost.log" "$WORK/$name.log"
	mv "$WORK/guest_r1.log" "$WORK/$name.guest.log"
}

replica replica
grep -E "WARNING: instance r1: NO BACKUP|replica live|replica is a primary|DIVERGENCE" \
	"$WORK/replica.log"
grep "test-guest:" "$WORK/replica.guest.log" | tail -1
python3 "$(dirname "$0")/check_replay.py" "$WORK" || fail "replay checks failed"

# --- negative control: a replica whose guest strays from the log
replica perturbed --perturb-replay
grep -q "DIVERGENCE on thread" "$WORK/perturbed.log" ||
	fail "negative control: a replayed PAL that differs was not reported"
grep -m1 "DIVERGENCE" "$WORK/perturbed.log"
mode=$(od -An -t u4 -j 20 -N 4 "$WORK/perturbed.region" | tr -d ' ')
[ "$mode" = 2 ] || fail "negative control: the replica that diverged left its region in mode $mode"
echo "negative control: the replica that diverged keeps its region in mode replay ($mode)"
echo "PASS: the replica replays logged inputs with their numbers, suppresses released outputs, goes live"
