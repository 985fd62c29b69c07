#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real TCP transfer through the NAT VM (lib.sh's topology), in mode off
# (the baseline) and then in mode ftmb with host B's ftmb-hostd as the
# backup, each with a fresh VM:
#
#   client C 10.77.0.2 --(default route via 10.77.0.1)--> NAT VM on host A
#       --(source 203.0.113.1:PORT)--> server S 203.0.113.2:8080
#
# all on the one segment: the NAT is a one-armed router. It answers ARP for
# its gateway address (the client asks) and its external address (the
# server asks for it when it replies), so the namespaces need no static
# neighbours; it sends translated frames to the server's MAC
# (--next-hop-mac) and the replies to the MAC the client's first packet came
# from. The client downloads a file of $MB MB from an HTTP server; the test
# checks that both ends have the same SHA-256, that the server saw the
# NAT's external address (not the client's), that ftmb-vhost released every
# output and stopped nothing, and prints the transfer time and throughput
# with the CPU each thread of QEMU and ftmb-vhost used meanwhile (what
# limits it).
. "$(dirname "$0")/lib.sh" || exit 1

THREADS=2
MB=${MB:-20}

setup_segment
start_nat_tcp_ends "$MB"
want=$BLOB_SHA256

# transfer MODE: the client downloads the file through the NAT; checked.
transfer() {
	local mode=$1 code size secs local got
	python3 "$(dirname "$0")/cpu.py" snapshot "$PID_vm" "$PID_vhost_a" >"$WORK/cpu0.json"
	ip netns exec "$NS_C" curl -sS --max-time ${CURL_TIMEOUT:-200} -o "$WORK/got" \
		-w '%{http_code} %{size_download} %{time_total} %{local_ip}:%{local_port}\n' \
		"http://$SERVER_IP:$PORT/blob" >"$WORK/curl.out" 2>"$WORK/curl.err" ||
		fail "$mode: curl failed: $(cat "$WORK/curl.err")"
	python3 "$(dirname "$0")/cpu.py" snapshot "$PID_vm" "$PID_vhost_a" >"$WORK/cpu1.json"
	read -r code size secs local <"$WORK/curl.out"
	got=$(sha256sum <"$WORK/got" | cut -d' ' -f1)
	log "$mode: client $local downloaded $size bytes in $secs s ($(python3 -c "print('%.2f' % ($size / $secs / 1e6))") MB/s), HTTP $code"
	log "$mode: $(python3 "$(dirname "$0")/cpu.py" report "$WORK/cpu0.json" "$WORK/cpu1.json")"
	log "$mode: sha256 server $want"
	log "$mode: sha256 client $got"
	[ "$code" = 200 ] && [ "$size" = $((MB << 20)) ] || fail "$mode: HTTP $code, $size bytes"
	[ "$got" = "$want" ] || fail "$mode: the file changed on its way through the NAT"
	grep -a "GET /blob" "$WORK/server.log" | tail -1 | sed 's/^/    | server: /'
	tail -1 "$WORK/server.log" | grep -aq "^$EXT_IP:[0-9]* .*GET /blob" ||
		fail "$mode: the server did not see the NAT's external address $EXT_IP"
	grep -aq "^$CLIENT_IP" "$WORK/server.log" && fail "$mode: the server saw the client's own address"
	rm -f "$WORK/got"
}

# run MODE: ftmb-vhost in MODE, a fresh NAT VM, the transfer, the checks.
run() {
	local mode=$1 t0
	rm -f "$(region nat a)"
	ip -n "$NS_C" neigh flush dev eth0
	ip -n "$NS_S" neigh flush dev eth0
	start_vm_vhost nat $THREADS "$mode" ",vars=16"
	t0=$(date +%s%N)
	# --idle-ms: a TCG guest can stall for a second; the flow keeps its port.
	start_vm vm "$NS_A" "$(vhost_sock nat a)" "$(region nat a)" \
		ftmb-nat --threads $THREADS --io afpacket:eth0 --external-ip $EXT_IP \
		--internal-net 10.77.0.0/24 --gateway-ip $GW_IP --next-hop-mac $SERVER_MAC \
		--idle-ms 60000
	wait_vm vm "ftmb-nat: running $THREADS threads, mode"
	log "$mode: VM booted, NAT polling after $((($(date +%s%N) - t0) / 1000000)) ms"
	grep -E "^afpacket:|^ftmb-nat:" "$WORK/vm.log" | sed 's/^/    | /'
	sleep 0.2 # past ftmb-vhost's settle time
	transfer "$mode"
	ip -n "$NS_C" neigh show $GW_IP | sed 's/^/    | client neighbour (the NAT answered ARP): /'
	ip -n "$NS_S" neigh show $EXT_IP | sed 's/^/    | server neighbour (the NAT answered ARP): /'
	vm_stop vm
	grep "ftmb-nat: thread" "$WORK/vm.log" | sed 's/^/    | /'
	stop vhost_a
	grep -a "instance nat (" "$WORK/vhost_a.log" | tail -1 | sed 's/^/    | /'
	grep -aq "instance nat stopped" "$WORK/vhost_a.log" && fail "$mode: ftmb-vhost stopped the instance"
	json "$WORK/vhost-a.json" "j['instances'][0]['foreign_txq'] == 0 and all(q['released'] == q['outputs'] and q['held_now'] == 0 for q in j['instances'][0]['queues'])" |
		grep -q True || fail "$mode: ftmb-vhost held or misplaced outputs"
	mv "$WORK/vm.log" "$WORK/vm-$mode.log"
	mv "$WORK/vhost_a.log" "$WORK/vhost_a-$mode.log"
	mv "$WORK/vhost-a.json" "$WORK/vhost-a-$mode.json"
}

guest_image
write_vm_hostd_conf nat $THREADS
start_hostd b
start_hostd a
for mode in ${MODES:-off ftmb}; do
	run "$mode"
done
stop hostd_a
stop hostd_b
grep -q "failing over" "$WORK/hostd_b.log" && fail "the backup declared a failure"
log "PASS ($SECONDS s)"
