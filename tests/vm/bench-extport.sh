#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Which external port serves a host on the shared segment better (not part
# of make check: it wants the machine to itself). The monitor runs as a host
# process behind ftmb-vhost (mode off, so that only the port differs) on
# host A, whose external port is, alternately,
#   af_packet  net_af_packet0,iface=ext: A's veth into the segment, read and
#              written through PACKET_MMAP rings
#   tap        net_tap0: a tap device, bridged with A's veth in A's own
#              bridge (one more bridge hop; a read or write per frame)
# Each round: latency at a low rate, then the rate that comes back when the
# generator offers more than either can carry. Prints each round and the
# medians.
. "$(dirname "$0")/lib.sh" || exit 1

THREADS=2
ROUNDS=${ROUNDS:-3}
LOW=${LOW:-5000}
HIGH=${HIGH:-300000}
MON_EAL="$EAL_BASE -m 256"

# port KIND: ftmb-vhost's external port devargs.
port() {
	case $1 in
	af_packet) echo "[net_af_packet0,iface=ext]" ;;
	tap) echo "[net_tap0,iface=ftmbtap]" ;;
	esac
}

# send NAME RATE: 3 s from the segment to the middlebox's MAC.
send() {
	ip netns exec "$NS_T" "$BUILD/ftmb-traffic" $EAL_BASE --file-prefix="ftmb-$TAG-$1" -- \
		--dev net_af_packet0,iface=gen --dst-mac "$VM_MAC" --flows 64 --rate "$2" --duration 3 \
		--size 128 --stop-after-idle 1000 --json --quiet >"$WORK/$1.json" 2>"$WORK/$1.log" ||
		fail "ftmb-traffic $1 failed"
}

round() {
	local kind=$1 r=$2
	start vhost_a "$NS_A" "$BUILD/ftmb-vhost" $EAL_BASE --lcores='0@(0-1)' -m 512 \
		--file-prefix="ftmb-$TAG-a-vhost-$kind$r" -- \
		--instance "name=mon,socket=$WORK/a-mon.vhost,region=$(region mon a),queues=$THREADS,port=$(port "$kind"),mode=off,mac=$VM_MAC"
	wait_for "$WORK/vhost_a.log" "serving" 30
	if [ "$kind" = tap ]; then
		ip -n "$NS_A" link set ext master br-a
		ip -n "$NS_A" link set ftmbtap master br-a up
		plain_link "$NS_A" ftmbtap
	fi
	start mb_a "$NS_A" "$BUILD/ftmb-monitor" --threads $THREADS --region "$(region mon a)" \
		--io "dpdk:$MON_EAL --file-prefix=ftmb-$TAG-a-mb --vdev=net_virtio_user0,path=$WORK/a-mon.vhost,queues=$THREADS"
	wait_for "$WORK/mb_a.log" "running $THREADS threads" 30
	sleep 0.3
	send "$kind$r-low" "$LOW"
	send "$kind$r-high" "$HIGH"
	stop mb_a
	stop vhost_a
	[ "$kind" = tap ] && ip -n "$NS_A" link set ext nomaster
	python3 - "$WORK/$kind$r-low.json" "$WORK/$kind$r-high.json" "$kind" "$r" <<'PY' | tee -a "$WORK/results"
import json, sys
low, high = (json.load(open(p)) for p in sys.argv[1:3])
sent = high["tx"]["whole_run"]["packets"]
back = high["rx"]["unique_whole_run"]
print(f"{sys.argv[3]} {sys.argv[4]} p50_us {low['latency_us']['p50']:.1f} "
      f"p99_us {low['latency_us']['p99']:.1f} sent_pps {sent / 3:.0f} back_pps {back / 3:.0f}")
PY
}

setup_segment
ip -n "$NS_A" link add br-a type bridge
ip -n "$NS_A" link set br-a up
for ((r = 1; r <= ROUNDS; r++)); do
	round af_packet $r
	round tap $r
done
python3 - "$WORK/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for kind in ("af_packet", "tap"):
    mine = [r for r in rows if r[0] == kind]
    med = lambda i: statistics.median(float(r[i]) for r in mine)
    print(f"bench-extport: {kind}: median of {len(mine)} rounds: latency at low rate p50 "
          f"{med(3):.1f} us, p99 {med(5):.1f} us; offered {med(7):.0f} pps, back {med(9):.0f} pps")
PY
