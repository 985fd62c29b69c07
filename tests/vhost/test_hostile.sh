#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A hostile guest: one ftmb-vhost serves two instances, "bad" and "good".
# For each way of breaking the contract (garbage PAL record, impossible PAL
# ring index, bogus output tag, dep naming inputs or PALs never logged,
# out_seq going backwards, a SKIP of inputs never given), the bad guest turns hostile after a while; the
# bad instance must be stopped with the reason logged at ERR level, while
# ftmb-vhost stays up and the good instance forwards every frame it took.
. "$(dirname "$0")/lib.sh" || exit 1
N=1000
PORT=$((17900 + $$ % 500))

declare -A REASON=(
	[garbage]="thread 0: bad PAL record or ring index"
	[ringindex]="thread 0: bad PAL record or ring index .* (ring indexes inconsistent)"
	[badtag]="bad output tag on TX queue"
	[depin]="depends on input .* only .* logged"
	[deppal]="depends on PAL .* only .* logged"
	[backwards]="out_seq 1 after"
	[skip]="thread 0: SKIP of inputs .* but .* handed to queue 0"
)

run_kind() {
	local kind=$1
	rm -f "$WORK/go" "$WORK"/*.log "$WORK"/*.rec "$WORK/stats.json"
	start backup "$BACKUP" --listen "127.0.0.1:$PORT" --ack-delay-ms 1
	wait_for "$WORK/backup.log" "listening"
	start vhost "$VHOST" $EAL -m 512 --file-prefix="$TAG-be" -- \
		--instance "$(vhost_instance bad 2 0 ftmb "backup=127.0.0.1:$PORT")" \
		--instance "$(vhost_instance good 2 1 ftmb "backup=127.0.0.1:$PORT")" \
		--stats "$WORK/stats.json"
	wait_for "$WORK/vhost.log" "serving 2 instance"
	ext_peer ext 2 --count $N --rate 5000 --flows 64 --wait-ms 1000
	guest bad 2 ftmb --hostile "$kind" --after 200
	guest good 2 ftmb
	wait_for "$WORK/vhost.log" "instance good: guest connected"
	wait_for "$WORK/vhost.log" "instance bad: guest connected"
	wait_for "$WORK/guest_good.log" "test-guest: ready"
	wait_for "$WORK/guest_bad.log" "test-guest: ready"
	go
	wait "$PID_ext" || fail "$kind: test-ext failed"
	PID_ext=
	kill -0 "$PID_vhost" 2>/dev/null || fail "$kind: ftmb-vhost died"
	stop guest_bad
	stop guest_good
	stop vhost
	stop backup
	grep "ERR: instance bad stopped" "$WORK/vhost.log"
	grep -q "ERR: instance bad stopped: .*${REASON[$kind]}" "$WORK/vhost.log" ||
		fail "$kind: bad instance not stopped with the expected reason"
	grep -q "ERR: instance good" "$WORK/vhost.log" && fail "$kind: good instance hurt"
	python3 - "$WORK/stats.json" "$WORK/ext.rec" $N "$kind" <<'PY' || fail "$kind: checks failed"
import json, sys
insts = {i["name"]: i for i in json.load(open(sys.argv[1]))["instances"]}
rows = [l.split() for l in open(sys.argv[2])]
n, kind = int(sys.argv[3]), sys.argv[4]
bad, good = insts["bad"], insts["good"]
good_back = sum(1 for r in rows if r[1] == "1")
good_in = sum(q["inputs"] for q in good["queues"])
bad_out = sum(q["released"] for q in bad["queues"])
print(f"{kind}: bad {bad['state']} after releasing {bad_out}, held now "
      f"{sum(q['held_now'] for q in bad['queues'])}; good {good['state']}: took {good_in} of {n}, "
      f"{good_back} back, leaks {sum(int(r[8]) for r in rows)}")
assert bad["state"] == "stopped" and good["state"] == "running"
assert sum(q["held_now"] for q in bad["queues"]) == 0, "the bad instance's held outputs dropped"
assert good_back == good_in == sum(q["released"] for q in good["queues"]) and good_in > n * 0.8
assert all(r[8] == "0" for r in rows), "no tag leaves, not even from the hostile guest"
PY
}

for kind in garbage ringindex badtag depin deppal backwards skip; do
	run_kind $kind
done
echo "PASS: each hostile guest stopped only its own instance, with the reason logged"
