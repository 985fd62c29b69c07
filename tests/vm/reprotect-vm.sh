#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 6: re-protection by a third host. A protected VM fails over twice,
# and the second failover comes from what the first one's replica logged
# and checkpointed.
#
#   reprotect-vm.sh [ROUNDS]      (default 2: the monitor, then the NAT)
#
# Each round: host A's ftmb-hostd runs the guest (failover-vm.sh's set-up)
# with host B as its backup and host C (setup_third_host) configured as
# `reprotect = c`. Under load, host A dies (every process, SIGKILL). Host B
# restores and replays as in failover-vm.sh; its replica ftmb-vhost streams
# its log to host C from the restored cut on (BASE), and once the replay
# is done hostd B checkpoints the restored VM to host C, a full checkpoint
# first: the instance is protected again, with the traffic going on. Once
# host C has committed a checkpoint of B's VM, host B dies too, and host C
# restores that checkpoint and replays B's log after it.
#
# ftmb-verify checks the sink's records over both failovers, and
# check_failover_vm.py checks each failover from its own evidence (as in
# failover-vm.sh: the replica's PAL records equal the logged ones, output
# commit against the backup's ACKs, the bridge following the replica, a
# replica's outputs reaching the sink), the second with host B's replica
# as the primary and host C as the backup.
#
# The last line reads
#   reprotect-vm rounds=N violations=V accel=A reprotect_p50_ms=R recovery2_p50_ms=S
# where reprotect is the replica live on host B to its first full
# checkpoint sent to host C, and recovery2 host B's failure to the first
# output of host C's replica at the sink. The traffic goes on across the
# re-protection, but that first checkpoint stops the VM while it copies all
# of its RAM (about a second under TCG): inputs wait meanwhile, and those
# the external port cannot hold are lost, as around a failure.
. "$(dirname "$0")/lib.sh" || exit 1
HERE=$(dirname "$0")

ROUNDS=${1:-2}
THREADS=2
FLOWS=${FLOWS:-64}
RATE=${RATE:-600}
DURATION=${DURATION:-40}
SIZE=128
KILL_MIN_MS=1500
KILL_MAX_MS=3000
REPROTECT=1
RESULTS=$WORK/results.jsonl

# start_host_c: hostd C with its own copy of the configuration: only the
# replica's trace, statistics and DPDK prefix are named after it.
start_host_c() {
	sed -e "s|$WORK/replica.trace|$WORK/replica-c.trace|" -e "s|$WORK/vhost-b.json|$WORK/vhost-c.json|" \
		-e "s|ftmb-$TAG-b-vhost|ftmb-$TAG-c-vhost|" "$WORK/hostd.conf" >"$WORK/hostd-c.conf"
	HOSTD_CONF=$WORK/hostd-c.conf HOSTD_ARGS="--ack-log $WORK/c.acks" start_hostd c
}

# status_field H EXPR: a field of hostd H's instance vm1 (live status).
status_field() {
	"$BUILD/ftmbctl" -s "$WORK/hostd-$1.sock" --json status 2>/dev/null |
		python3 -c "import json, sys; i = json.load(sys.stdin)['instances'][0]; print($2)" 2>/dev/null
}

# wait_until H EXPR SECONDS: until status_field H EXPR prints True.
wait_until() {
	local i
	for ((i = 0; i < $3 * 4; i++)); do
		[ "$(status_field "$1" "$2")" = True ] && return 0
		sleep 0.25
	done
	return 1
}

# view DIR LINK=TARGET...: a directory of links that names one failover's
# evidence as check_failover_vm.py reads it.
view() {
	local dir=$1 pair
	shift
	mkdir -p "$dir"
	for pair in "$@"; do
		ln -sf "$WORK/${pair#*=}" "$dir/${pair%%=*}"
	done
}

run_round() {
	local r=$1 mb delay_ms verify_rc rc=0 b_live c_live go_wall b_kill_ms full
	((r % 2)) && mb=nat || mb=monitor
	delay_ms=$((KILL_MIN_MS + RANDOM % (KILL_MAX_MS - KILL_MIN_MS + 1)))

	setup_segment
	setup_third_host
	start_vm_primary "$(vm_mb_command "$mb")" "ftmb-$mb: running $THREADS threads"
	start_host_c
	start_vm_traffic "$DURATION"
	python3 "$HERE/kill_after.py" "$NS_A" "$WORK/kill" "$WORK/go" "$delay_ms" ||
		fail "round $r: cannot kill host A"
	after_failover b
	wait_until b "i['state'] == 'protected'" 90 ||
		log "round $r: host B's replica was not re-protected within 90 s"
	# host C holds a checkpoint of B's VM (it starts with none)
	wait_until c "(i.get('checkpoints') or {}).get('stored_epoch', 0) > 0" 60 ||
		log "round $r: host C committed no checkpoint of B's VM within 60 s"
	"$BUILD/ftmbctl" -s "$WORK/hostd-b.sock" --json status >"$WORK/status-b.json"
	bridge -n "$NS_T" fdb show br br0 | grep -i "$VM_MAC" >"$WORK/fdb-b"
	sleep 2
	# host B's replica ftmb-vhost writes its statistics (SIGUSR1): it dies
	# with host B
	kill -USR1 "$(json "$WORK/status-b.json" "j['instances'][0]['failover']['replicas'][0]['pid']")"
	appears "$WORK/vhost-b.json" . 10 || log "round $r: host B's replica wrote no statistics"
	"$PYTHON" "$HERE/../hostproc/kill_host.py" "$NS_B" "$WORK/kill-b.raw" ||
		fail "round $r: cannot kill host B"
	go_wall=$(awk '{print $5}' "$WORK/kill")
	echo "$(cat "$WORK/kill-b.raw") $go_wall" >"$WORK/kill-b"
	after_failover c
	wait "$PID_gen" || log "round $r: ftmb-traffic failed: $(tail -3 "$WORK/gen.log")"
	PID_gen=
	bridge -n "$NS_T" fdb show br br0 | grep -i "$VM_MAC" >"$WORK/fdb"
	stop_vm_replica c
	"$BUILD/ftmb-verify" --mb "$mb" "$WORK/gen.rec" >"$WORK/verify.out" 2>&1
	verify_rc=$?
	stop hostd_c

	b_live=$(json "$WORK/vhost-b.json" "j['instances'][0]['replay']['at_mono_ns']['live'] or 0")
	c_live=$(json "$WORK/vhost-c.json" "j['instances'][0]['replay']['at_mono_ns']['live'] or 0")
	b_kill_ms=$(awk -v g="$go_wall" '{printf "%d", ($2 - g) / 1e6}' "$WORK/kill-b")
	# B's first full checkpoint to C paused the VM: inputs waited, and
	# some were lost, as around a failure
	full=$(json "$WORK/status-b.json" "'%d,%d' % (j['instances'][0]['failover']['at_mono_ns']['reprotected'] - 1000 * j['instances'][0]['vm']['last_full_checkpoint']['pause_us'], j['instances'][0]['failover']['at_mono_ns']['reprotected'])")
	view "$WORK/first" kill=kill gen.json=gen.json gen.rec=gen.rec status-b.json=status-b.json \
		state-b=state-b vhost-b.json=vhost-b.json replica.trace=replica.trace \
		primary.trace=primary.trace b.acks=b.acks verify.out=verify.out fdb=fdb-b
	view "$WORK/second" kill=kill-b gen.json=gen.json gen.rec=gen.rec status-c.json=status-c.json \
		state-c=state-c vhost-c.json=vhost-c.json replica-c.trace=replica-c.trace \
		replica.trace=replica.trace c.acks=c.acks verify.out=verify.out fdb=fdb
	python3 "$HERE/check_failover_vm.py" round --work "$WORK/first" --round "$r" --mb "$mb" \
		--kill-after-ms "$delay_ms" --verify-rc $verify_rc --results "$WORK/first.jsonl" \
		--also-window "$(awk '{print $1}' "$WORK/kill-b"),$c_live" --also-window "$full" || rc=1
	python3 "$HERE/check_failover_vm.py" round --work "$WORK/second" --round "$r" --mb "$mb" \
		--kill-after-ms "$b_kill_ms" --verify-rc $verify_rc --results "$WORK/second.jsonl" \
		--host c --replica-trace replica-c.trace --primary-trace replica.trace \
		--also-window "$(awk '{print $1}' "$WORK/kill"),$b_live" --also-window "$full" || rc=1
	python3 - "$WORK/status-b.json" "$WORK/status-c.json" "$WORK/second.jsonl" "$r" \
		"$RESULTS" <<'PY' || rc=1
import json, sys
b, c, second, r, results = sys.argv[1:]
ib, ic = json.load(open(b))["instances"][0], json.load(open(c))["instances"][0]
sec = [json.loads(line) for line in open(second)][-1]
fo_b, fo_c = ib.get("failover") or {}, ic.get("failover") or {}
full = (ib.get("vm") or {}).get("last_full_checkpoint") or {}
row = {"round": int(r), "reprotect_ms": fo_b.get("reprotect_ms"),
       "full_pause_ms": full.get("pause_us", 0) / 1000, "full_bytes": full.get("bytes"),
       "recovery2_ms": sec.get("recovery_ms"), "violation": sec["violation"],
       "epoch_b": (fo_b.get("restore") or {}).get("epoch"),
       "epoch_c": (fo_c.get("restore") or {}).get("epoch")}
problems = []
if ib.get("state") != "protected" or row["reprotect_ms"] is None:
    problems.append(f"host B's replica was never re-protected (state {ib.get('state')})")
if ib.get("backup") != "c":
    problems.append(f"host B names {ib.get('backup')} as its backup, not c")
if not row["epoch_c"] or not row["epoch_b"] or row["epoch_c"] <= row["epoch_b"]:
    problems.append(f"host C restored epoch {row['epoch_c']}, not a checkpoint host B took after "
                    f"its own restore of epoch {row['epoch_b']}")
def ms(v):
    return "?" if v is None else f"{v:.0f}"
print(f"round {r}: re-protected {ms(row['reprotect_ms'])} ms after B's replica went live (its "
      f"first full checkpoint, {row['full_bytes']} bytes, paused the VM {ms(row['full_pause_ms'])} "
      f"ms); host C "
      f"restored B's checkpoint of epoch {row['epoch_c']} (B had restored epoch "
      f"{row['epoch_b']}); recovery from B's failure {ms(row['recovery2_ms'])} ms")
for p in problems:
    print(f"round {r}: FAIL: {p}")
open(results, "a").write(json.dumps(row) + "\n")
sys.exit(1 if problems else 0)
PY
	if [ $rc -ne 0 ] || [ -n "${KEEP:-}" ]; then
		mkdir -p "$WORK/round-$r"
		cp -a "$WORK"/*.log "$WORK"/*.json "$WORK"/*.out "$WORK"/*.trace "$WORK"/kill* "$WORK"/fdb* \
			"$WORK"/*.conf "$WORK"/*.acks "$WORK"/gen.rec "$WORK"/state-* "$WORK/round-$r"/ 2>/dev/null
	fi
	teardown_segment
	rm -rf "$WORK"/*.log "$WORK"/*.json "$WORK"/*.out "$WORK"/*.trace \
		"$WORK"/*.rec "$WORK"/kill* "$WORK"/fdb* "$WORK"/*.acks "$WORK"/state-* "$WORK"/go \
		"$WORK/first" "$WORK/second" "$WORK/hostd-c.conf"
	return $rc
}

guest_image
failed=0
for ((r = 0; r < ROUNDS; r++)); do
	run_round "$r" || failed=$((failed + 1))
done
python3 - "$RESULTS" "$ROUNDS" "$failed" "${ACCEL%%,*}" <<'PY'
import json, os, statistics, sys
results, rounds, failed, accel = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = [json.loads(line) for line in open(results)] if os.path.exists(results) else []
def p50(k):
    v = [r[k] for r in rows if r.get(k) is not None]
    return statistics.median(v) if v else float("nan")
print(f"summary the first full checkpoint to the new backup paused the VM "
      f"{p50('full_pause_ms'):.0f} ms (p50)")
print(f"reprotect-vm rounds={len(rows)} violations={sum(r['violation'] for r in rows)} "
      f"accel={accel} reprotect_p50_ms={p50('reprotect_ms'):.1f} "
      f"recovery2_p50_ms={p50('recovery2_ms'):.1f}")
sys.exit(1 if failed or len(rows) != rounds else 0)
PY
