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
#      TCP_LEAD_S before the kill the client starts downloading a file of
#      TCP_MB MiB (0: none) over HTTP from a server on the generator's
#      port, through the NAT:
#        client C 10.77.0.2 --(default route via 10.77.0.1)--> NAT VM
#            --(source 192.0.2.1:PORT)--> server 203.0.113.2:8080
#   3. KILL_AFTER_S seconds in, host A dies: every process of its namespace,
#      QEMU included, gets SIGKILL at once (tests/hostproc/kill_host.py);
#   4. host B's ftmb-hostd detects it, restores the last committed
#      checkpoint, its replica ftmb-vhost replays the log after the cut into
#      the restored guest and goes live; the traffic goes on to the replica,
#      the download completes with the server's SHA-256, and the traffic
#      runs AFTER_S more seconds (the replica's latency without the load);
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
AFTER_S=${AFTER_S:-4}
KILL_AFTER_S=${KILL_AFTER_S:-4}
CKPT_MS=${CKPT_MS:-50}
EXT_IP=192.0.2.1
TCP_MB=${TCP_MB:-16}
TCP_LEAD_S=${TCP_LEAD_S:-2}
CLIENT_IP=10.77.0.2
GW_IP=10.77.0.1
SERVER_IP=203.0.113.2
HTTP_PORT=8080
NAT_IDLE_MS=600000
PLOT=${PLOT:-$PWD/$BUILD/demo-latency.png}
T0=$(date +%s%N)

# Every name lives in $WORK or carries $TAG: teardown_segment removes the
# namespaces, what ran in them and the VM's files. Silent, so that the
# verdict stays the last line.
cleanup() {
	teardown_segment 2>/dev/null # and bash's notices of the jobs it kills
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
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

# committed_epoch: the last checkpoint epoch host B has committed (0: none).
committed_epoch() {
	"$BUILD/ftmbctl" -s "$WORK/hostd-b.sock" --json status 2>/dev/null |
		python3 -c 'import json,sys; print((json.load(sys.stdin)["instances"][0].get("checkpoints") or {}).get("committed_epoch") or 0)' 2>/dev/null ||
		echo 0
}

# start_protected_vm: host A's ftmb-vhost and ftmb-hostd, which launches the
# NAT VM and checkpoints it to host B (lib.sh); returns once the NAT runs
# in the guest and host B has committed a checkpoint.
start_protected_vm() {
	local i epoch=0 gen_mac
	gen_mac=$(ip netns exec "$NS_T" cat /sys/class/net/gen/address)
	stage "host A: ftmb-vhost, ftmb-hostd; the NAT VM boots (${ACCEL%%,*}, $THREADS vCPUs, 256 MiB, checkpoints every $CKPT_MS ms to host B)"
	start_vm_primary "$(ftmb_run ftmb-nat --threads $THREADS --io afpacket:eth0 --external-ip $EXT_IP \
		--gateway-ip $GW_IP --next-hop-mac "$gen_mac" --idle-ms $NAT_IDLE_MS)" "ftmb-nat: running $THREADS threads"
	stage "host A: ftmb-nat runs in the VM"
	for ((i = 0; i < 600; i++)); do
		epoch=$(committed_epoch)
		[ "$epoch" -gt 0 ] && break
		sleep 0.1
	done
	[ "$epoch" -gt 0 ] ||
		die "host B committed no checkpoint of the VM within 60 s" \
			"see why in $WORK/hostd_a.log and $WORK/hostd_b.log (rerun with KEEP=1)"
	stage "host B: checkpoints of the VM commit (epoch $epoch)"
}

# start_traffic: the generator and sink on the segment, in the background.
start_traffic() {
	rm -f "$WORK/go"
	ip netns exec "$NS_T" "$BUILD/ftmb-traffic" $EAL_BASE --file-prefix="ftmb-$TAG-gen" -- \
		--dev net_af_packet0,iface=gen --dst-mac "$VM_MAC" --flows "$FLOWS" --rate "$RATE" \
		--duration 3600 --size $SIZE --go-file "$WORK/go" \
		--record "$WORK/sink.rec" --json --quiet >"$WORK/traffic.json" 2>"$WORK/gen.log" &
	PIDS+=($!)
	PID_gen=$!
	sleep 1 # the generator's link, and past ftmb-vhost's settle time
	touch "$WORK/go"
	stage "traffic: $FLOWS flows at $RATE packets/s from the segment through the NAT VM"
}

# setup_download: the client's address and route through the NAT; the
# HTTP server on the generator's port (the NAT's next hop) with a file of
# random bytes.
setup_download() {
	local i
	[ "$TCP_MB" -gt 0 ] || return 0
	ip -n "$NS_C" addr add $CLIENT_IP/24 dev eth0
	ip -n "$NS_C" route add default via $GW_IP
	ip -n "$NS_T" addr add $SERVER_IP/24 dev gen
	ip -n "$NS_T" route add $EXT_IP/32 dev gen
	mkdir "$WORK/www"
	head -c "${TCP_MB}M" /dev/urandom >"$WORK/www/blob"
	start server "$NS_T" python3 -m http.server --bind $SERVER_IP --directory "$WORK/www" $HTTP_PORT
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS_T" ss -Hltn "sport = :$HTTP_PORT" | grep -q . && return 0
		sleep 0.1
	done
	die "the HTTP server did not start" "see $WORK/server.log (rerun with KEEP=1)"
}

# start_download: the client's download, in the background; its start on
# CLOCK_MONOTONIC goes to $WORK/download (for the plot).
start_download() {
	python3 -c 'import time; print(time.monotonic_ns())' >"$WORK/download"
	ip netns exec "$NS_C" curl -sS --max-time 300 -o "$WORK/got" \
		-w '%{http_code} %{size_download} %{time_total} %{local_ip}:%{local_port}\n' \
		"http://$SERVER_IP:$HTTP_PORT/blob" >"$WORK/curl.out" 2>"$WORK/curl.log" &
	PIDS+=($!)
	PID_curl=$!
	stage "TCP: the client downloads $TCP_MB MiB over HTTP from the server, through the NAT VM"
}

# finish_download: the download must complete, intact, as one connection
# from the NAT's external address (under another mapping the server's TCP
# would have answered with a reset).
finish_download() {
	local code size secs local want got
	[ "$TCP_MB" -gt 0 ] || return 0
	wait "$PID_curl" || die "the download failed across the failover: $(cat "$WORK/curl.log")" \
		"see $WORK/curl.log and $WORK/server.log (rerun with KEEP=1)"
	PID_curl=
	read -r code size secs local <"$WORK/curl.out"
	echo "$size $secs" >>"$WORK/download"
	want=$(sha256sum <"$WORK/www/blob" | cut -d' ' -f1)
	got=$(sha256sum <"$WORK/got" | cut -d' ' -f1)
	[ "$code" = 200 ] && [ "$size" = $((TCP_MB << 20)) ] && [ "$got" = "$want" ] ||
		die "the download ended with HTTP $code, $size bytes, SHA-256 $got (the server's: $want)" \
			"see $WORK/curl.log and $WORK/server.log (rerun with KEEP=1)"
	[ "$(grep -ac "GET /blob" "$WORK/server.log")" = 1 ] &&
		grep -aq "^$EXT_IP .*GET /blob" "$WORK/server.log" ||
		die "the server did not see one request from the NAT's address $EXT_IP" "see $WORK/server.log"
	stage "TCP: the client ($local) got all $size bytes in ${secs%.*} s, SHA-256 as the server's; $(cat "$WORK/got-at-kill") bytes had arrived before the kill; one request, from $EXT_IP"
}

# fail_host_a MS: MS from now (a real-time sleep: on two cores busy with a
# TCG guest a plain one can wake seconds late), every process of host A's
# namespace at once (lib.sh's kill_host_a); the group's stderr takes bash's
# notices of its jobs killed.
fail_host_a() {
	{
		chrt -f 20 sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
		kill_host_a
		wait "$PID_vhost_a" "$PID_hostd_a"
	} 2>"$WORK/kill-host.log"
	PID_vhost_a= PID_hostd_a=
	stat -c %s "$WORK/got" >"$WORK/got-at-kill" 2>/dev/null || echo 0 >"$WORK/got-at-kill"
	stage "host A killed: $(cut -d' ' -f3 "$WORK/kill") processes (QEMU, ftmb-vhost, ftmb-hostd) got SIGKILL at once"
}

# wait_replica: until host B's replica is live (lib.sh), its status saved.
wait_replica() {
	after_failover
	grep -q "replica live" "$WORK/state-b/vm1.vhost.log" ||
		die "no replica went live on host B within 120 s of the failure" \
			"read host B's log $WORK/hostd_b.log, the replica's $WORK/state-b/vm1.vhost.log and QEMU's $WORK/state-b/vm1.qemu.log (rerun with KEEP=1)"
	stage "host B: the replica is live and announced the VM's MAC"
}

# collect: AFTER_S more seconds of traffic, then SIGINT stops the generator
# (it writes its records and report); then the evidence (timeline.py reads
# it from $WORK): the replica ftmb-vhost's statistics and trace (SIGTERM
# ends them), the verifier's verdict, the records as text; host B's status
# was saved when the replica went live.
collect() {
	sleep "$AFTER_S"
	kill -INT "$PID_gen"
	wait "$PID_gen" || die "ftmb-traffic failed" "see $WORK/gen.log (rerun with KEEP=1)"
	PID_gen=
	stage "traffic over: $(json "$WORK/traffic.json" "'sent %d, received %d' % (j['tx']['whole_run']['packets'], j['rx']['unique_whole_run'])")"
	stop_vm_replica
	[ -s "$WORK/vhost-b.json" ] ||
		die "the replica ftmb-vhost wrote no statistics" "see $WORK/state-b/vm1.vhost.log (rerun with KEEP=1)"
	"$BUILD/ftmb-verify" --mb nat --nat-idle-ms $NAT_IDLE_MS --json "$WORK/sink.rec" \
		>"$WORK/verify.json" 2>"$WORK/verify.log"
	echo $? >"$WORK/verify.rc"
	"$BUILD/ftmb-records" --t0-ns "$(cut -d' ' -f1 "$WORK/kill")" "$WORK/sink.rec" \
		>"$WORK/records.txt" || die "ftmb-records cannot read the sink's records" "see the error above"
	stage "evidence collected in $WORK ($([ -n "${KEEP:-}" ] && echo kept || echo "removed at exit; KEEP=1 keeps it")); the machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work slows the TCG guest and stretches every time below)"
}

stage "setup: packages, the patched QEMU and the binaries are ready (make demo builds them)"
guest_image
stage "guest image ready (tools/mkimage.sh cache)"
setup_segment
stage "network: hosts A and B (replication link), the segment's bridge, client and server namespaces"
setup_download
start_protected_vm
start_traffic
if [ "$TCP_MB" -gt 0 ]; then
	sleep $((KILL_AFTER_S - TCP_LEAD_S))
	start_download
	fail_host_a $((TCP_LEAD_S * 1000))
else
	fail_host_a $((KILL_AFTER_S * 1000))
fi
wait_replica
finish_download
collect
echo
python3 "$HERE/timeline.py" --evidence "$WORK" --plot "$PLOT"
