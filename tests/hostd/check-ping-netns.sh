#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The bare round trip to a backup, the floor of ftmb's added latency: a
# backup ftmb-hostd in one network namespace, ftmb-ping (heartbeat echo) and
# the fake primary's input-to-ACK lockstep from another over a veth pair,
# and the same two over loopback inside the backup's namespace, side by side
# in one run. Prints what it measured; asserts only that every round trip
# completed.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/hostd/lib.sh

COUNT=${PING_COUNT:-5000}
NS_A=ftmb-hostd-a-$$
NS_B=ftmb-hostd-b-$$
VETH_A=fhd${$}a
VETH_B=fhd${$}b
CLEANUPS+=("ip netns del $NS_A" "ip netns del $NS_B")

ip netns add "$NS_A" && ip netns add "$NS_B" || fail "cannot create network namespaces"
ip link add "$VETH_A" type veth peer name "$VETH_B" || fail "cannot create a veth pair"
ip link set "$VETH_A" netns "$NS_A" && ip link set "$VETH_B" netns "$NS_B" || fail "veth"
ip -n "$NS_A" addr add 10.201.0.1/30 dev "$VETH_A"
ip -n "$NS_B" addr add 10.201.0.2/30 dev "$VETH_B"
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" link set lo up
done
ip -n "$NS_A" link set "$VETH_A" up
ip -n "$NS_B" link set "$VETH_B" up

start_hostd backup ip netns exec "$NS_A" "$HOSTD" --name "$NS_A" --listen 0.0.0.0:7400 \
	--control "$DIR/backup.sock" --state-dir "$DIR/state"
CLEANUPS=("stop_hostd backup" "${CLEANUPS[@]}")

measure() { # WHERE NS TARGET
	local out
	out=$(ip netns exec "$2" "$PING" "$3" --count "$COUNT") || fail "ftmb-ping over $1"
	echo "$1: $out"
	out=$(ip netns exec "$2" "$FAKE" stream "$3" "ack-$1" --queues 1 --inputs 1 --pals 1 \
		--lockstep "$COUNT" | grep "round trip") || fail "input->ACK lockstep over $1"
	echo "$1: $out"
}
measure loopback "$NS_A" 127.0.0.1:7400
measure veth "$NS_B" 10.201.0.1:7400
echo "check-ping-netns: OK"
