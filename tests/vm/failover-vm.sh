#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 6: VM failover (restore + replay + go live + announce), round after
# round, on lib.sh's shared segment.
#
#   failover-vm.sh [--unordered] [ROUNDS]      (default 5 rounds)
#
# Each round sets up fresh hosts; host A's ftmb-hostd launches the guest
# image (2 vCPUs, TCG here) running the monitor or the NAT (alternately)
# with 2 threads behind ftmb-vhost (cut=pause, its external port af_packet
# on A's veth into the segment, mac= announced) and checkpoints it every
# CKPT_MS to host B's ftmb-hostd. The generator on the segment sends many
# flows to the VM's MAC and records what comes back (the monitor swaps the
# addresses; the NAT sends its translations to the generator's MAC). At a
# random moment host A dies: every process of its namespace, QEMU included,
# gets SIGKILL at once (kill_after.py). Host B must detect it, restore the
# last committed checkpoint, start the replica ftmb-vhost on the log after
# the checkpoint's cut (inputs per queue and PAL records per thread from the
# cut on, replayed in the logged order, outputs the primary released
# suppressed), let the guest run, go live and announce the MAC: the bridge
# moves it to host B's port and the traffic goes on to the replica.
#
# check_failover_vm.py then checks each round from evidence (ftmb-verify on
# the sink's records: monitor global counts unique and per-flow increasing
# across the failover, nat mappings kept and no external port held by two
# flows; the replica's PAL records equal to the logged ones; a failover
# that happened and a replica whose outputs reached the sink) and derives
# detection, restore and recovery times.
#
# --unordered is the negative control: the replicas replay without the
# logged access order (ftmb-vhost replay_order=off); the run passes only if
# the checks catch it in at least half of the rounds.
#
# The last line reads
#   failover-vm rounds=N violations=V accel=A detect_p50_ms=D recovery_p50_ms=R recovery_max_ms=M
. "$(dirname "$0")/lib.sh" || exit 1
HERE=$(dirname "$0")

UNORDERED=0
if [ "${1:-}" = --unordered ]; then
	UNORDERED=1
	shift
fi
ROUNDS=${1:-5}
THREADS=2
FLOWS=${FLOWS:-64}
# A TCG guest with two busy host cores carries about this much without
# loss (vm-monitor.sh measures it).
RATE=${RATE:-600}
# Long enough to go on well past the failover on overloaded cores.
DURATION=${DURATION:-12}
SIZE=128
KILL_MIN_MS=${KILL_MIN_MS:-1500}
KILL_MAX_MS=${KILL_MAX_MS:-3000}
RESULTS=$WORK/results.jsonl
[ $UNORDERED = 1 ] && REPLICA_KEYS=",replay_order=off"

# run_round N: one failover; returns non-zero when the round failed.
run_round() {
	local r=$1 mb delay_ms verify_rc dir rc
	((r % 2)) && mb=nat || mb=monitor
	delay_ms=$((KILL_MIN_MS + RANDOM % (KILL_MAX_MS - KILL_MIN_MS + 1)))

	setup_segment
	start_vm_primary "$(vm_mb_command "$mb")" "ftmb-$mb: running $THREADS threads"
	start_vm_traffic "$DURATION"
	python3 "$HERE/kill_after.py" "$NS_A" "$WORK/kill" "$WORK/go" "$delay_ms" ||
		fail "round $r: cannot kill host A"
	after_failover
	wait "$PID_gen" || log "round $r: ftmb-traffic failed: $(tail -3 "$WORK/gen.log")"
	PID_gen=
	bridge -n "$NS_T" fdb show br br0 | grep -i "$VM_MAC" >"$WORK/fdb"
	stop_vm_replica
	"$BUILD/ftmb-verify" --mb "$mb" "$WORK/gen.rec" >"$WORK/verify.out" 2>&1
	verify_rc=$?
	stop hostd_b
	python3 "$HERE/check_failover_vm.py" round --work "$WORK" --round "$r" --mb "$mb" \
		--kill-after-ms "$delay_ms" --verify-rc $verify_rc \
		--results "$RESULTS" $([ $UNORDERED = 1 ] && echo --unordered)
	rc=$?
	if [ $rc -ne 0 ] || [ -n "${KEEP:-}" ]; then
		dir=$WORK/round-$r
		mkdir -p "$dir"
		mv "$WORK"/*.log "$WORK"/*.json "$WORK"/*.out "$WORK"/*.trace "$WORK"/kill "$WORK"/fdb \
			"$WORK"/hostd.conf "$WORK"/b.acks "$WORK"/gen.rec "$WORK/state-a" "$WORK/state-b" \
			"$dir"/ 2>/dev/null
	fi
	teardown_segment
	rm -rf "$WORK"/*.log "$WORK"/*.json "$WORK"/*.out "$WORK"/*.trace "$WORK"/*.rec "$WORK"/kill \
		"$WORK"/fdb "$WORK"/b.acks "$WORK"/state-* "$WORK"/go
	return $rc
}

guest_image
failed=0
for ((r = 0; r < ROUNDS; r++)); do
	run_round "$r" || failed=$((failed + 1))
done
python3 "$HERE/check_failover_vm.py" summary --results "$RESULTS" --rounds "$ROUNDS" \
	--failed-rounds "$failed" --accel "${ACCEL%%,*}" $([ $UNORDERED = 1 ] && echo --unordered)
