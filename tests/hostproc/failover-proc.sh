#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 4: recovery by replay in host-process mode, round after round.
#
#   failover-proc.sh [--unordered] [ROUNDS]      (default 20 rounds)
#
# Each round sets up two fresh hosts (lib.sh), runs monitor or nat
# (alternately) with 4 threads behind ftmb-vhost on host a, hostd a as
# primary and hostd b as backup, and sends many flows at a sustained rate
# until a second after the replica is live.
# At a random moment host a dies: every process in its namespace gets
# SIGKILL, in every other pair of rounds after it hung for HANG_MS (SIGSTOP:
# nothing leaves it, no connection ends, as after a power loss: only the
# heartbeat timeout can tell). hostd b must detect it, dump
# the log and start the replicas; the replica's ftmb-vhost replays the log
# and takes over the external link (ftmb-traffic is the memif server), and
# traffic goes on. Then ftmb-verify checks the sink's records and
# check_failover.py derives from evidence the detection and recovery times,
# the replay speed and where every lost packet went.
#
# --unordered is the negative control (negative-control.sh): the replicas
# replay without the logged access order (ftmb-vhost replay_order=off), and
# the run passes only if ftmb-verify finds violations.
#
# The last line reads
#   failover-proc rounds=N violations=V detect_p50_ms=A recovery_p50_ms=B recovery_max_ms=C replayed_p50=P
. "$(dirname "$0")/lib.sh" || exit 1
HERE=$(dirname "$0")

UNORDERED=0
if [ "${1:-}" = --unordered ]; then
	UNORDERED=1
	shift
fi
ROUNDS=${1:-20}
THREADS=4
FLOWS=${FLOWS:-512}
# What two shared cores carry without loss in mode ftmb with 4 middlebox
# threads, ftmb-vhost, two hostds and the generator (README.md).
RATE=${RATE:-15000}
# Traffic goes on this long after the replica is live (and at most
# MAX_DURATION seconds in all): the end follows the failover, so that a
# harness starved of CPU cannot fail the host after the traffic ended.
AFTER_LIVE_MS=${AFTER_LIVE_MS:-1000}
MAX_DURATION=30
# The generator ends once nothing came back for this long after it stopped
# sending: a replica on two starved cores can stall for a few hundred ms
# with inputs still queued for it, which would count as lost.
IDLE_END_MS=1500
SIZE=128
# The failure comes at a random moment in this window after traffic starts.
KILL_MIN_MS=${KILL_MIN_MS:-500}
KILL_MAX_MS=${KILL_MAX_MS:-1500}
HANG_MS=${HANG_MS:-100}
# The NAT expires an idle flow by its own clock (logged, and replayed while
# its log lasts), but ftmb-verify can only bound gaps by the times packets
# were sent: a replica replaying on two starved cores may process a flow's
# next packet seconds after the last one the primary processed, and rightly
# give it a new port. An expiry longer than any round's traffic makes every
# change of mapping a violation instead.
NAT_IDLE_MS=20000
# Standby replicas on host b (hostd replica_start); on-failover starts
# them cold, for comparison.
export REPLICA_START=${REPLICA_START:-standby}
RESULTS=$WORK/results.jsonl
[ $UNORDERED = 1 ] && ORDER_KEY=",replay_order=off" || ORDER_KEY=

# run_round N: one failover; returns non-zero when the round failed.
run_round() {
	local r=$1 mb kind cut= delay_ms go_wall verify_rc dir
	((r % 2)) && mb=nat || mb=monitor
	[ $mb = nat ] && MB_ARGS="--idle-ms $NAT_IDLE_MS" || MB_ARGS=
	((r / 2 % 2)) && kind=hang || kind=crash
	[ $kind = hang ] && cut="--hang-ms $HANG_MS"
	delay_ms=$((KILL_MIN_MS + RANDOM % (KILL_MAX_MS - KILL_MIN_MS + 1)))

	setup_hosts
	REPLICA_VHOST_KEYS=",trace=$WORK/replica.trace$ORDER_KEY" write_hostd_conf mb1 "$mb" $THREADS
	HOSTD_ARGS="--ack-log $WORK/b.acks" start_hostd b
	start_hostd a
	traffic gen --flows "$FLOWS" --rate "$RATE" --duration $MAX_DURATION --size $SIZE \
		--record "$WORK/gen.rec" --stop-after-idle $IDLE_END_MS --stop-file "$WORK/stop"
	# No settle time: ftmb-vhost hands input to a queue only once the
	# middlebox's thread registered (after its virtio PMD flushed its RX
	# rings), and inputs lost inside the middlebox are logged as skipped.
	start_vhost mb1 $THREADS ftmb ",trace=$WORK/primary.trace"
	start_mb "$mb" mb1 $THREADS
	go
	go_wall=$(date +%s%N)
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	"$PYTHON" "$HERE/kill_host.py" "$NS_A" "$WORK/kill" $cut || fail "round $r: cannot kill host a"
	appears "$WORK/state-b/mb1.vhost.log" "replica live" 20 ||
		log "round $r: no replica went live within 20 s of the failure"
	sleep "$(printf '%d.%03d' $((AFTER_LIVE_MS / 1000)) $((AFTER_LIVE_MS % 1000)))"
	touch "$WORK/stop"
	"$BUILD/ftmbctl" -s "$WORK/hostd-b.sock" --json status >"$WORK/status-b.json" ||
		fail "round $r: no status from hostd b"
	# The generator, a memif server, can die: DPDK 22.11's memif server has
	# panicked in its interrupt thread when a client it refused (the
	# replica, while the dead primary's connection lingered) went away. Such
	# a round has no evidence: it returns 2, to be run again.
	local rc=2
	if wait "$PID_gen"; then
		stop_replicas
		"$BUILD/ftmb-verify" --mb "$mb" --nat-idle-ms $NAT_IDLE_MS "$WORK/gen.rec" \
			>"$WORK/verify.out" 2>&1
		verify_rc=$?
		stop hostd_b
		"$PYTHON" "$HERE/check_failover.py" round --work "$WORK" --round "$r" --mb "$mb" \
			--kind "$kind" --kill-after-ms "$delay_ms" --go-wall-ns "$go_wall" \
			--verify-rc $verify_rc --results "$RESULTS" $([ $UNORDERED = 1 ] && echo --unordered)
		rc=$?
	else
		log "round $r: the generator died: $(grep -a -m1 -A1 PANIC "$WORK/gen.log" | tr '\n' ' ')"
	fi
	PID_gen=
	if [ $rc -ne 0 ] || [ -n "${KEEP:-}" ]; then
		dir=$WORK/round-$r
		mkdir -p "$dir"
		mv "$WORK"/*.log "$WORK"/*.json "$WORK"/*.out "$WORK"/*.trace "$WORK"/kill \
			"$WORK"/hostd.conf "$WORK/state-b" "$WORK/b.acks" "$dir"/ 2>/dev/null
		mv "$WORK/gen.rec" "$dir"/ 2>/dev/null
	fi
	teardown_hosts
	rm -rf "$WORK"/*.log "$WORK"/*.json "$WORK"/*.out "$WORK"/*.trace "$WORK"/*.rec \
		"$WORK"/kill "$WORK"/state-* "$WORK"/go "$WORK"/stop
	return $rc
}

# stop_replicas: SIGTERM to the replica processes hostd b started, so that
# they write their statistics and traces.
stop_replicas() {
	local pid pids
	pids=$("$PYTHON" -c 'import json,sys
for i in json.load(open(sys.argv[1]))["instances"]:
    for r in ((i.get("failover") or {}).get("replicas") or []):
        print(r["pid"])' "$WORK/status-b.json")
	for pid in $pids; do
		kill "$pid" 2>/dev/null
	done
	for pid in $pids; do
		for ((i = 0; i < 200; i++)); do
			running "$pid" || break
			sleep 0.05
		done
		running "$pid" && fail "replica pid $pid did not stop within 10 s of SIGTERM"
	done
}

# isolated_round N: run_round in a subshell, so that a `fail` inside it
# (a process that did not come up in time on a starved machine) ends that
# round only: its hosts are torn down and it counts as a round without
# evidence (2), to be run again, instead of ending a 500-round soak.
isolated_round() {
	(
		local done=
		trap 'rc=$?; teardown_hosts; [ -n "$done" ] || rc=2; exit $rc' EXIT
		run_round "$1"
		rc=$?
		done=1
		exit $rc
	)
}

failed=0
reruns=0
for ((r = 0; r < ROUNDS; r++)); do
	isolated_round "$r"
	rc=$?
	if [ $rc = 2 ] && ((reruns < ROUNDS / 10 + 1)); then
		reruns=$((reruns + 1))
		log "round $r: run again ($reruns so far)"
		isolated_round "$r"
		rc=$?
	fi
	[ $rc = 0 ] || failed=$((failed + 1))
done
[ $reruns = 0 ] || log "$reruns rounds run again after a process died or did not come up"
"$PYTHON" "$HERE/check_failover.py" summary --results "$RESULTS" --rounds "$ROUNDS" \
	--failed-rounds "$failed" $([ $UNORDERED = 1 ] && echo --unordered)
