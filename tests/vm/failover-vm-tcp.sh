#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real TCP transfer through the NAT VM survives the death of its host
# (lib.sh's topology, the NAT as in vm-nat-tcp.sh):
#
#   client C 10.77.0.2 --(default route via 10.77.0.1)--> NAT VM
#       --(source 203.0.113.1:PORT)--> server S 203.0.113.2:8080
#
# Host A's ftmb-hostd runs the NAT VM and checkpoints it to host B. The
# client downloads a file of $MB MB over HTTP; once it holds between
# KILL_AT_PCT and twice that of it, every process of host A (QEMU
# included) gets SIGKILL. Host B restores the VM from its last committed
# checkpoint, replays the log after the cut, goes live and announces the
# MAC; the bridge moves it to host B's port. What was lost meanwhile TCP
# retransmits: the download must complete with the server's SHA-256, the
# server must have seen one request, from the NAT's external address (the
# replica kept the flow's mapping: under another port the connection would
# be a stranger to the server, whose TCP answers with a reset), the bridge
# must have the MAC behind host B's port, and the replica must not have
# diverged from the log. hostd B's status, the replica's statistics and the
# client's progress give the outage: the longest stall of the download
# after the failure.
. "$(dirname "$0")/lib.sh" || exit 1

THREADS=2
MB=${MB:-20}
KILL_AT_PCT=${KILL_AT_PCT:-25}

setup_segment
start_nat_tcp_ends "$MB"
want=$BLOB_SHA256

guest_image
start_vm_primary "$(ftmb_run ftmb-nat --threads $THREADS --io afpacket:eth0 --external-ip $EXT_IP \
	--internal-net 10.77.0.0/24 --gateway-ip $GW_IP --next-hop-mac $SERVER_MAC --idle-ms 600000)" \
	"ftmb-nat: running $THREADS threads"
sleep 0.2 # past ftmb-vhost's settle time

# The download, with curl's progress every 100 ms in $WORK/progress
# (monotonic ns, bytes).
ip netns exec "$NS_C" curl -sS --max-time ${CURL_TIMEOUT:-400} -o "$WORK/got" \
	-w '%{http_code} %{size_download} %{time_total} %{local_ip}:%{local_port}\n' \
	"http://$SERVER_IP:$PORT/blob" >"$WORK/curl.out" 2>"$WORK/curl.err" &
PIDS+=($!)
curl_pid=$!
python3 - "$WORK/got" "$curl_pid" >"$WORK/progress" <<'PY' &
import os, sys, time
path, pid = sys.argv[1], int(sys.argv[2])
while os.path.exists(f"/proc/{pid}"):
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0
    print(time.monotonic_ns(), size, flush=True)
    time.sleep(0.1)
PY
PIDS+=($!)

# The failure, once the client holds KILL_AT_PCT % of the file (at a random
# point up to twice that).
target=$(((MB << 20) * (KILL_AT_PCT + RANDOM % (KILL_AT_PCT + 1)) / 100))
for ((i = 0; i < 3000; i++)); do
	size=$(stat -c %s "$WORK/got" 2>/dev/null || echo 0)
	((size >= target)) && break
	running "$curl_pid" || fail "curl ended before the failure: $(cat "$WORK/curl.err")"
	sleep 0.1
done
((size >= target)) || fail "the download did not reach $target bytes in 300 s"
log "the client holds $size of $((MB << 20)) bytes: killing host A"
kill_host_a
after_failover
wait "$curl_pid" || fail "curl failed after the failover: $(cat "$WORK/curl.err")"
read -r code size secs local <"$WORK/curl.out"
got=$(sha256sum <"$WORK/got" | cut -d' ' -f1)
log "client $local downloaded $size bytes in $secs s, HTTP $code"
log "sha256 server $want"
log "sha256 client $got"
[ "$code" = 200 ] && [ "$size" = $((MB << 20)) ] || fail "HTTP $code, $size bytes"
[ "$got" = "$want" ] || fail "the file changed on its way through the NAT"
grep -a "GET /blob" "$WORK/server.log" | sed 's/^/    | server: /'
[ "$(grep -ac "GET /blob" "$WORK/server.log")" = 1 ] || fail "the server saw more than one request"
grep -aq "^$EXT_IP:[0-9]* .*GET /blob" "$WORK/server.log" ||
	fail "the server did not see the NAT's external address $EXT_IP"
[ "$(bridge -n "$NS_T" fdb show br br0 | awk -v m=$VM_MAC '$1 == m { print $3 }')" = seg-b ] ||
	fail "the bridge did not move the NAT's MAC to host B's port"
stop_vm_replica
python3 - "$WORK/kill" "$WORK/progress" "$WORK/status-b.json" "$WORK/vhost-b.json" <<'PY' || fail "the outage could not be measured"
import json, sys
kill = int(open(sys.argv[1]).read().split()[0])
prog = [tuple(map(int, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 2]
at_kill = max(b for t, b in prog if t <= kill)
growth = [kill] + [t for (t0, b0), (t, b) in zip(prog, prog[1:]) if t > kill and b > b0]
stall, resumed = max((b - a, b) for a, b in zip(growth, growth[1:]))
fo = json.load(open(sys.argv[3]))["instances"][0]["failover"]
st = json.load(open(sys.argv[4]))["instances"][0]
at = st["replay"]["at_mono_ns"]
print(f"failover-vm-tcp: failure at {at_kill} bytes; detection {fo['detection_ms']:.1f} ms after the "
      f"last heartbeat, restore {fo['restore']['restore_ms']:.0f} ms, replica live "
      f"{(at['live'] - kill) / 1e6:.0f} ms after the failure (replayed "
      f"{sum(st['replay']['fed_inputs'])} inputs, suppressed "
      f"{sum(q['suppressed'] for q in st['queues'])}, divergences {st['replay']['divergences']}), "
      f"the download's longest stall after it: {stall / 1e6:.0f} ms, ending "
      f"{(resumed - kill) / 1e6:.0f} ms after the failure")
assert st["replay"]["divergences"] == 0, "the replica diverged from the log"
PY
log "PASS ($SECONDS s)"
