#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo`: a protected NAT VM survives the death of its host.
#
# On tests/vm/lib.sh's network of hosts (hosts A and B with their
# replication link, the shared segment with its bridge, client and server):
#   1. host A runs ftmb-vhost (its external port af_packet on A's veth into
#      the segment) and ftmb-hostd, which launches the guest image running
#      ftmb-nat with 2 threads and checkpoints it every CKPT_MS to host B's
#      ftmb-hostd;
#   2. ftmb-traffic on the segment sends FLOWS flows at RATE packets/s to
#      the VM's MAC; the NAT translates their source and sends them back to
#      the generator, which records every frame it receives (--record);
#   3. KILL_AFTER_S seconds in, host A dies: every process of its namespace,
#      QEMU included, gets SIGKILL at once (tests/hostproc/kill_host.py);
#   4. host B's ftmb-hostd detects it, restores the last committed
#      checkpoint, its replica ftmb-vhost replays the log after the cut into
#      the restored guest and goes live; the traffic goes on to the replica;
#   5. timeline.py prints the recovery timeline from the evidence (host B's
#      `ftmbctl status --json`, the replica ftmb-vhost's statistics, the
#      sink's records), the verdict of `ftmb-verify --mb nat`, latency
#      before and after, and plots per-packet latency around the failure.
#
# The last line reads
#   demo verdict=<consistent|VIOLATION> detect_ms=A restore_ms=B replay_ms=C first_output_ms=D
# Exit status: 0 consistent, 1 a violation or a stage that failed (with what
# to do). KEEP=1 keeps the work directory (logs, records, evidence, plot).
. "$(dirname "$0")/../../tests/vm/lib.sh" || exit 1
HERE=$(dirname "$0")

THREADS=2
FLOWS=${FLOWS:-16}
RATE=${RATE:-400}
SIZE=128
DURATION_S=${DURATION_S:-12}
KILL_AFTER_S=${KILL_AFTER_S:-4}
CKPT_MS=${CKPT_MS:-50}
EXT_IP=192.0.2.1
NAT_IDLE_MS=600000
RAM=/dev/shm/ftmb-$TAG-ram
REGION=/dev/shm/ftmb-$TAG-region
SOCK=$WORK/vm1.vhost
EVIDENCE=$WORK/evidence
PLOT=${PLOT:-$PWD/$BUILD/demo-latency.png}
T0=$(date +%s%N)

# Every name lives in $WORK or carries $TAG; lib.sh's cleanup removes the
# namespaces and what ran in them, this adds the VM's files.
eval "lab_cleanup() $(declare -f cleanup | tail -n +2)"
cleanup() {
	lab_cleanup
	rm -f "$RAM" "$REGION"
}

stage() {
	local ms=$((($(date +%s%N) - T0) / 1000000))
	printf 'demo: [%4d.%d s] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}

# die WHAT TODO: a failed stage, what to do about it, then the logs.
die() {
	echo "demo: FAILED: $1"
	echo "demo: what to do: $2"
	fail "$1"
}

# vhost_keys: what both hosts' ftmb-vhost serve (the same paths: the
# replica's QEMU has the primary's command line).
vhost_keys() {
	echo "name=vm1,socket=$SOCK,region=$REGION,queues=$THREADS,vars=16,port=[net_af_packet0,iface=ext],mac=$VM_MAC,cut=pause"
}

# write_conf REGION_SIZE: both hosts' configuration (hostd/config.h).
write_conf() {
	local gen_mac
	gen_mac=$(ip netns exec "$NS_T" cat /sys/class/net/gen/address)
	cat >"$WORK/hostd.conf" <<EOF
[hostd]
heartbeat_interval_ms = 5
failure_timeout_ms = ${FAILURE_TIMEOUT_MS:-200}

[peers]
a = $IP_A:$REPL_PORT
b = $IP_B:$REPL_PORT

[instance vm1]
primary = a
backup = b
on_backup_lost = halt
replica_vhost = $PWD/$BUILD/ftmb-vhost $EAL_BASE -m 512 --lcores=0@(0-1) --file-prefix=ftmb-$TAG-b-vhost -- --instance $(vhost_keys),replay=%LOG% --stats $EVIDENCE/replica-vhost.json
kernel = $KERNEL
initrd = $INITRD
append = console=ttyS0 quiet panic=-1 ipv6.disable=1 $(ftmb_run ftmb-nat --threads $THREADS --io afpacket:eth0 --external-ip $EXT_IP --next-hop-mac "$gen_mac" --idle-ms $NAT_IDLE_MS)
qemu = $(readlink -f "$QEMU")
accel = ${ACCEL%%,*}
memory_mb = 256
smp = $THREADS
queues = $THREADS
mac = $VM_MAC
ram_file = $RAM
vhost_socket = $SOCK
region = $REGION
region_size = $1
checkpoint_interval_ms = $CKPT_MS
EOF
}

# committed_epoch: the last checkpoint epoch host B has committed (0: none).
committed_epoch() {
	"$BUILD/ftmbctl" -s "$WORK/hostd-b.sock" --json status 2>/dev/null |
		python3 -c 'import json,sys; print((json.load(sys.stdin)["instances"][0].get("checkpoints") or {}).get("committed_epoch") or 0)' 2>/dev/null ||
		echo 0
}

# start_protected_vm: ftmb-vhost on host A (it creates the region, whose
# size the configuration names), host B's hostd, then host A's, which
# launches the VM once ftmb-vhost's socket is there; returns once the NAT
# runs in the guest and host B has committed a checkpoint.
start_protected_vm() {
	local i epoch=0
	start vhost_a "$NS_A" "$BUILD/ftmb-vhost" $EAL_BASE --lcores='0@(0-1)' -m 512 \
		--file-prefix="ftmb-$TAG-a-vhost" -- \
		--instance "$(vhost_keys),backup=$IP_B:$REPL_PORT" --stats "$EVIDENCE/primary-vhost.json"
	wait_for "$WORK/vhost_a.log" "serving" 30
	write_conf "$(stat -c %s "$REGION")"
	start_hostd b
	wait_for "$WORK/vhost_a.log" "connected to backup" 30
	start_hostd a
	stage "host A: ftmb-vhost and ftmb-hostd up; the NAT VM boots (${ACCEL%%,*}, 2 vCPUs, 256 MiB)"
	appears "$WORK/state-a/vm1.serial" "ftmb-nat: running $THREADS threads" 240 ||
		die "the NAT VM did not start within 240 s" \
			"read its console $WORK/state-a/vm1.serial and QEMU's log $WORK/state-a/vm1.qemu.log (rerun with KEEP=1 to keep them)"
	stage "host A: ftmb-nat runs in the VM"
	for ((i = 0; i < 600; i++)); do
		epoch=$(committed_epoch)
		[ "$epoch" -gt 0 ] && break
		sleep 0.1
	done
	[ "$epoch" -gt 0 ] ||
		die "host B committed no checkpoint of the VM within 60 s" \
			"see why in $WORK/hostd_a.log and $WORK/hostd_b.log (rerun with KEEP=1)"
	stage "host B: checkpoints of the VM commit every $CKPT_MS ms (epoch $epoch)"
}

# start_traffic: the generator and sink on the segment, in the background.
start_traffic() {
	rm -f "$WORK/go"
	ip netns exec "$NS_T" "$BUILD/ftmb-traffic" $EAL_BASE --file-prefix="ftmb-$TAG-gen" -- \
		--dev net_af_packet0,iface=gen --dst-mac "$VM_MAC" --flows "$FLOWS" --rate "$RATE" \
		--duration "$DURATION_S" --size $SIZE --stop-after-idle 4000 --go-file "$WORK/go" \
		--record "$EVIDENCE/sink.rec" --json --quiet >"$EVIDENCE/traffic.json" 2>"$WORK/gen.log" &
	PIDS+=($!)
	PID_gen=$!
	sleep 1 # the generator's link, and past ftmb-vhost's settle time
	touch "$WORK/go"
	stage "traffic: $FLOWS flows at $RATE packets/s from the segment through the NAT VM for $DURATION_S s"
}

# kill_host_a: every process of host A's namespace at once.
kill_host_a() {
	local rc
	# The group's stderr also takes bash's notices of the jobs killed.
	{
		python3 tests/hostproc/kill_host.py "$NS_A" "$EVIDENCE/kill" 2>"$WORK/kill.err"
		rc=$?
		wait "$PID_vhost_a" "$PID_hostd_a"
	} 2>/dev/null
	PID_vhost_a= PID_hostd_a=
	[ $rc = 0 ] || die "cannot kill host A: $(cat "$WORK/kill.err")" "check that nothing else removed $NS_A"
	stage "host A killed: $(cut -d' ' -f3 "$EVIDENCE/kill") processes (QEMU, ftmb-vhost, ftmb-hostd) got SIGKILL at once"
}

# wait_replica: until host B's replica is live.
wait_replica() {
	appears "$WORK/state-b/vm1.vhost.log" "replica live" 120 ||
		die "no replica went live on host B within 120 s of the failure" \
			"read host B's log $WORK/hostd_b.log, the replica's $WORK/state-b/vm1.vhost.log and QEMU's $WORK/state-b/vm1.qemu.log (rerun with KEEP=1)"
	stage "host B: the replica is live and announced the VM's MAC"
}

# collect: once the traffic is over, the evidence: host B's status, the
# replica ftmb-vhost's statistics (SIGUSR1 writes them), the verifier's
# verdict, the records as text.
collect() {
	local pid i
	wait "$PID_gen" || die "ftmb-traffic failed" "see $WORK/gen.log (rerun with KEEP=1)"
	PID_gen=
	stage "traffic over: $(json "$EVIDENCE/traffic.json" "'sent %d, received %d' % (j['tx']['whole_run']['packets'], j['rx']['unique_whole_run'])")"
	"$BUILD/ftmbctl" -s "$WORK/hostd-b.sock" --json status >"$EVIDENCE/status-b.json" ||
		die "no status from host B's ftmb-hostd" "see $WORK/hostd_b.log"
	pid=$(json "$EVIDENCE/status-b.json" "' '.join(str(r['pid']) for r in j['instances'][0]['failover']['replicas'] if r['what'] == 'vhost')")
	rm -f "$EVIDENCE/replica-vhost.json"
	kill -USR1 $pid 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		[ -s "$EVIDENCE/replica-vhost.json" ] && break
		sleep 0.05
	done
	[ -s "$EVIDENCE/replica-vhost.json" ] ||
		die "the replica ftmb-vhost (pid $pid) wrote no statistics" "see $WORK/state-b/vm1.vhost.log"
	"$BUILD/ftmb-verify" --mb nat --nat-idle-ms $NAT_IDLE_MS --json "$EVIDENCE/sink.rec" \
		>"$EVIDENCE/verify.json" 2>"$WORK/verify.err"
	echo $? >"$EVIDENCE/verify.rc"
	"$BUILD/ftmb-records" --t0-ns "$(cut -d' ' -f1 "$EVIDENCE/kill")" "$EVIDENCE/sink.rec" \
		>"$EVIDENCE/records.txt" || die "ftmb-records cannot read the sink's records" "see above"
	stage "evidence collected in $EVIDENCE"
}

mkdir -p "$EVIDENCE"
stage "setup: packages, the patched QEMU and the binaries are ready (make demo builds them)"
guest_image
stage "guest image ready (tools/mkimage.sh cache)"
setup_segment
stage "network: hosts A and B (replication link), the segment's bridge, client and server namespaces"
start_protected_vm
start_traffic
sleep "$KILL_AFTER_S"
kill_host_a
wait_replica
collect
echo
python3 "$HERE/timeline.py" --evidence "$EVIDENCE" --plot "$PLOT"
