#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guest's AF_PACKET driver hands the NIC a thread's frames in the order
# it sent them, whatever the interface's qdisc. In the VM, Debian's default
# qdisc (fq_codel) serves each flow's queue in turn: with a backlog, frames
# of one flow overtook earlier frames of others and ftmb-vhost stopped the
# instance ("out_seq N after M"). This host's kernel has no fq_codel, so a
# qdisc with the same effect stands in: HTB with the first flow in a slow
# class of its own (u32 on the UDP source port), the others in a fast one.
# Negative control: the same frames through a plain packet socket, which
# goes through that qdisc, arrive out of order. Under a second.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
NS=ftmb-txorder-$$

cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link add txo0 type veth peer name txo1
ip -n "$NS" link set txo0 up
ip -n "$NS" link set txo1 up
tcq() { ip netns exec "$NS" tc "$@"; }
tcq qdisc add dev txo0 root handle 1: htb default 2
tcq class add dev txo0 parent 1: classid 1:1 htb rate 200kbit
tcq class add dev txo0 parent 1: classid 1:2 htb rate 100mbit quantum 1514
tcq filter add dev txo0 parent 1: protocol ip prio 1 u32 match ip sport 1000 0xffff flowid 1:1

run() { ip netns exec "$NS" "$BUILD/tests/ckpt/afp-order" "$1" txo0 txo1 2>/dev/null; }
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }

control=$(run socket)
driver=$(run driver)
echo "check-txorder: through the qdisc: $control"
echo "check-txorder: through the driver: $driver"
if [ "$(field out_of_order "$control")" -eq 0 ]; then
	echo "check-txorder: FAIL: the qdisc did not reorder a plain socket's frames: the" \
		"check has no teeth here"
	exit 1
fi
if [ "$(field out_of_order "$driver")" -ne 0 ] ||
	[ "$(field received "$driver")" -ne "$(field sent "$driver")" ]; then
	echo "check-txorder: FAIL: the AF_PACKET driver's frames were reordered or lost" \
		"(the qdisc reorders them unless the driver bypasses it)"
	exit 1
fi
echo "check-txorder: PASS: the driver's $(field sent "$driver") frames arrived in order;" \
	"a plain socket's had $(field out_of_order "$control") out of order"
