#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The announce after failover, on the shared segment (lib.sh): host A serves
# the monitor (a host process behind ftmb-vhost, whose external port is
# af_packet on A's veth into the bridge), host B is its backup. When A's
# guest connects, its ftmb-vhost announces the middlebox's MAC and the
# bridge learns it behind A's port. Then host A dies (ftmb-hostd,
# ftmb-vhost and the monitor killed -9); B's ftmb-hostd fails the instance
# over, its replica ftmb-vhost goes live on B and announces: the bridge's
# FDB must move to B's port, and traffic from the segment must reach the
# replica and come back. The negative control runs the same failover with
# a replica that has no mac= (no announcement): the FDB must stay on A's
# port, since the replica sends nothing else by itself (every output the
# primary released is suppressed).
. "$(dirname "$0")/lib.sh" || exit 1

THREADS=2
MON_EAL="$EAL_BASE -m 256"

# The replica commands host B's ftmb-hostd runs on failover (round $1;
# announce keys $2). settle=300: the replica monitor's virtio PMD flushes
# its RX rings while it starts, which would lose replayed inputs.
write_conf() {
	local round=$1 keys=$2
	cat >"$WORK/hostd.conf" <<EOF
[hostd]
heartbeat_interval_ms = 5
failure_timeout_ms = 200

[peers]
a = $IP_A:$REPL_PORT
b = $IP_B:$REPL_PORT

[instance mon]
primary = a
backup = b
on_backup_lost = halt
replica_vhost = $PWD/$BUILD/ftmb-vhost $EAL_BASE -m 512 --lcores=0@(0-1) --file-prefix=ftmb-$TAG-b-vhost$round -- --instance name=mon,socket=$WORK/b-mon$round.vhost,region=$(region mon b)$round,queues=$THREADS,vars=16,port=[net_af_packet0,iface=ext],replay=%LOG%,settle=300$keys --stats $WORK/vhost-b$round.json
replica_middlebox = $PWD/tests/hostproc/start-mb.sh $WORK/b-mon$round.vhost $PWD/$BUILD/ftmb-monitor --threads $THREADS --region $(region mon b)$round --io 'dpdk:$MON_EAL --file-prefix=ftmb-$TAG-b-mb$round --vdev=net_virtio_user0,path=$WORK/b-mon$round.vhost,queues=$THREADS'
EOF
}

# stop_ns NS: ends every process in namespace NS (SIGTERM, then SIGKILL).
stop_ns() {
	local i=0
	ip netns pids "$1" | xargs -r kill 2>/dev/null
	while ((i++ < 100)) && [ -n "$(ip netns pids "$1")" ]; do
		sleep 0.05
	done
	ip netns pids "$1" | xargs -r kill -9 2>/dev/null
}

# send NAME: a short run from the segment's generator to the middlebox's
# MAC; every frame must come back.
send() {
	local name=$1
	ip netns exec "$NS_T" "$BUILD/ftmb-traffic" $EAL_BASE --file-prefix="ftmb-$TAG-$name" -- \
		--dev net_af_packet0,iface=gen --dst-mac "$VM_MAC" --flows 64 --rate 2000 --count 1000 \
		--size 128 --stop-after-idle 3000 --record "$WORK/$name.rec" --json --quiet >"$WORK/$name.json" 2>"$WORK/$name.log" ||
		fail "ftmb-traffic $name failed"
	log "$name: $(json "$WORK/$name.json" "'sent %d, back %d' % (j['tx']['whole_run']['packets'], j['rx']['unique_whole_run'])")"
	[ "$(json "$WORK/$name.json" "j['rx']['unique_whole_run']")" = 1000 ] ||
		fail "$name: not every frame came back"
}

# expect_fdb PORT WHAT: br0 has the middlebox's MAC behind PORT ("" for no
# entry).
expect_fdb() {
	local got
	got=$(fdb_port "$VM_MAC")
	[ "$got" = "$1" ] || fail "$2: the bridge has $VM_MAC behind '${got:-no port}', expected '${1:-no port}'"
	log "$2: bridge fdb: $VM_MAC ${got:-absent}"
}

# failover ROUND KEYS: the primary on A, traffic, A killed, the replica on B.
failover() {
	local round=$1 keys=$2 t0 live
	write_conf "$round" "$keys"
	start_hostd b
	start_hostd a
	start vhost_a "$NS_A" "$BUILD/ftmb-vhost" $EAL_BASE --lcores='0@(0-1)' -m 512 \
		--file-prefix="ftmb-$TAG-a-vhost$round" -- \
		--instance "name=mon,socket=$WORK/a-mon$round.vhost,region=$(region mon a)$round,queues=$THREADS,vars=16,port=[net_af_packet0,iface=ext],backup=$IP_B:$REPL_PORT,mac=$VM_MAC" \
		--stats "$WORK/vhost-a$round.json"
	wait_for "$WORK/vhost_a.log" "connected to backup" 30
	start mb_a "$NS_A" "$BUILD/ftmb-monitor" --threads $THREADS --region "$(region mon a)$round" \
		--io "dpdk:$MON_EAL --file-prefix=ftmb-$TAG-a-mb$round --vdev=net_virtio_user0,path=$WORK/a-mon$round.vhost,queues=$THREADS"
	wait_for "$WORK/vhost_a.log" "a guest connected: announcing" 30
	sleep 0.1
	expect_fdb seg-a "round $round: the primary's guest connected on host A"
	wait_for "$WORK/mb_a.log" "running $THREADS threads" 30
	sleep 0.2 # past ftmb-vhost's settle time
	send "primary$round"
	sleep 0.3 # every output released, the RELEASED watermark at the backup
	t0=$(date +%s%N)
	kill -9 "$PID_hostd_a" "$PID_vhost_a" "$PID_mb_a"
	wait "$PID_hostd_a" "$PID_vhost_a" "$PID_mb_a" 2>/dev/null
	PID_hostd_a= PID_vhost_a= PID_mb_a=
	wait_for "$WORK/state-b/mon.vhost.log" "replica live" 60
	live=$(($(date +%s%N) - t0))
	log "round $round: host A killed; replica live on host B after $((live / 1000000)) ms"
	grep -h "failing over\|replica live\|announcing" "$WORK/hostd_b.log" "$WORK/state-b/mon.vhost.log" |
		sed 's/^/    | /'
}

setup_segment
expect_fdb "" "before any ftmb-vhost"

# Negative control: a replica that does not announce.
failover 0 ""
sleep 1
expect_fdb seg-a "negative control: 1 s after a replica without mac= went live"
stop_ns "$NS_A"
stop_ns "$NS_B"
mv "$WORK/state-b" "$WORK/state-b0"
mv "$WORK/hostd_b.log" "$WORK/hostd_b0.log"

# The replica announces: the bridge follows it to host B.
failover 1 ",mac=$VM_MAC"
for ((i = 0; i < 20; i++)); do
	[ "$(fdb_port "$VM_MAC")" = seg-b ] && break
	sleep 0.05
done
expect_fdb seg-b "the replica on host B announced"
send replica1
for rec in primary1 replica1; do
	"$BUILD/ftmb-verify" --mb monitor "$WORK/$rec.rec" || fail "ftmb-verify: $rec"
done
# Both runs number their flows from 0, so ftmb-verify cannot take them
# together; the replica's state is checked by its counts going on where the
# primary's stopped.
python3 - "$WORK/primary1.rec" "$WORK/replica1.rec" <<'PY' || fail "the replica did not continue the primary's counts"
import struct, sys
def stamps(path):
    data = open(path, "rb").read()
    return [struct.unpack_from("<QQ", data, off + 40)[0] for off in range(16, len(data), 56)]
before, after = stamps(sys.argv[1]), stamps(sys.argv[2])
print(f"announce: global counts: primary {min(before)}..{max(before)}, replica {min(after)}..{max(after)}")
assert min(after) == max(before) + 1 and len(set(before + after)) == len(before) + len(after)
PY
stop_ns "$NS_A"
stop_ns "$NS_B"
log "PASS ($SECONDS s)"
