#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The monitor in a VM on the data path (lib.sh's topology): the guest image
# (TCG here; 2 vCPUs, memfd RAM, virtio-net over vhost-user with 2 queue
# pairs, the shared region on ivshmem-plain) runs
#   ftmb-monitor --threads 2 --io afpacket:eth0
# behind ftmb-vhost on host A, whose external port is A's veth into the
# segment. ftmb-traffic on the segment sends to the VM's MAC; the monitor
# swaps the addresses, so every frame comes back to it.
#
# Mode off first (the baseline), then mode ftmb with host B's ftmb-hostd as
# the backup: small frames at a low rate (latency), then at a higher one
# (load: the VM's latency grows with it under TCG), and in mode ftmb
# full-size frames (1514 bytes, whose output tag only fits because the
# guest's driver raised the MTU).
# check_monitor.py checks each run from the generator's report, ftmb-vhost's
# statistics and the guest's own counters; ftmb-verify checks the monitor's
# stamps (every global count unique, each flow's count increasing). Negative
# control: the same evidence with the guest's two workers' counters
# exchanged (queue 0's inputs served by worker 1, as PACKET_FANOUT_QM did)
# must fail the check. Prints the boot time and the latency through the VM
# in both modes.
. "$(dirname "$0")/lib.sh" || exit 1

THREADS=2
FLOWS=64 # 16 flows of the generator's pattern all hash to queue 0
RATE=${RATE:-1000}

# send NAME SIZE RATE DURATION: from the segment to the VM's MAC, recorded.
# Under TCG a frame can take a few hundred ms: wait 3 s for stragglers.
send() {
	local name=$1 size=$2 rate=$3 duration=$4
	ip netns exec "$NS_T" "$BUILD/ftmb-traffic" $EAL_BASE --file-prefix="ftmb-$TAG-$name" -- \
		--dev net_af_packet0,iface=gen --dst-mac "$VM_MAC" --flows $FLOWS --rate "$rate" \
		--duration "$duration" --size "$size" --stop-after-idle 3000 \
		--record "$WORK/$name.rec" --json --quiet >"$WORK/$name.json" 2>"$WORK/$name.log" ||
		fail "ftmb-traffic $name failed"
	log "$name: $(json "$WORK/$name.json" "'%d-byte frames at %d pps: sent %d, back %d; latency through the VM p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms' % ($size, $rate, j['tx']['whole_run']['packets'], j['rx']['unique_whole_run'], j['latency_us']['p50'] / 1e3, j['latency_us']['p90'] / 1e3, j['latency_us']['p99'] / 1e3, j['latency_us']['max'] / 1e3)")"
	"$BUILD/ftmb-verify" --mb monitor "$WORK/$name.rec" || fail "ftmb-verify: $name"
}

# run MODE: ftmb-vhost in MODE, the VM, traffic, then everything checked.
run() {
	local mode=$1 t0 gens
	rm -f "$(region mon a)"
	start_vm_vhost mon $THREADS "$mode" ",vars=16"
	t0=$(date +%s%N)
	start_vm vm "$NS_A" "$(vhost_sock mon a)" "$(region mon a)" \
		ftmb-monitor --threads $THREADS --io afpacket:eth0
	wait_vm vm "ftmb-monitor: running $THREADS threads, mode"
	log "$mode: VM booted, monitor polling after $((($(date +%s%N) - t0) / 1000000)) ms"
	grep -E "^afpacket:|^ftmb-monitor: running" "$WORK/vm.log" | sed 's/^/    | /'
	sleep 0.2 # past ftmb-vhost's settle time
	send "$mode-low" 128 200 3
	send "$mode-load" 128 "$RATE" 3
	gens="$WORK/$mode-low.json $WORK/$mode-load.json"
	if [ "$mode" = ftmb ]; then
		send "$mode-full" 1514 200 2
		gens+=" $WORK/$mode-full.json"
	fi
	vm_stop vm
	grep "ftmb-monitor: thread" "$WORK/vm.log" | sed 's/^/    | /'
	stop vhost_a
	grep -a "instance mon (" "$WORK/vhost_a.log" | tail -1 | sed 's/^/    | /'
	grep -aq "instance mon stopped" "$WORK/vhost_a.log" && fail "$mode: ftmb-vhost stopped the instance"
	python3 "$(dirname "$0")/check_monitor.py" "$mode" "$WORK/vhost-a.json" "$WORK/vm.log" $gens ||
		fail "$mode: the run broke a rule"
	mv "$WORK/vm.log" "$WORK/vm-$mode.log"
	mv "$WORK/vhost_a.log" "$WORK/vhost_a-$mode.log"
	mv "$WORK/vhost-a.json" "$WORK/vhost-a-$mode.json"
}

setup_segment
guest_image
write_vm_hostd_conf mon $THREADS
start_hostd b
start_hostd a
run off
run ftmb
sed -e 's/thread 0:/thread X:/; s/thread 1:/thread 0:/; s/thread X:/thread 1:/' \
	"$WORK/vm-ftmb.log" >"$WORK/vm-swapped.log"
if python3 "$(dirname "$0")/check_monitor.py" ftmb "$WORK/vhost-a-ftmb.json" "$WORK/vm-swapped.log" \
	>"$WORK/negative.out"; then
	fail "negative control: workers serving each other's queues went unnoticed"
fi
log "negative control: $(cat "$WORK/negative.out")"
stop hostd_a
stop hostd_b
grep -q "failing over" "$WORK/hostd_b.log" && fail "the backup declared a failure"
grep "stopped on purpose" "$WORK/hostd_b.log" | sed 's/^/    | /'
log "PASS ($SECONDS s)"
