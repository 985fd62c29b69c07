#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Two real ftmb-hostd daemons from one configuration file: ha is primary of
# nat3, hb its backup.
#  - ha heartbeats to hb: nat3 is "protected" on ha, with the round trip;
#  - ha stopped on purpose (SIGTERM) says it is LEAVING: hb must not fail
#    over (negative control);
#  - ha killed: hb fails nat3 over, reporting the detection time;
#  - hb killed: ha reports nat3 backup-lost, unprotected, with its policy.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/hostd/lib.sh

PA=$(free_port)
PB=$(free_port)
RT=
chrt -f 10 true 2>/dev/null && RT="chrt -f 10" # see check-failover.sh

cat >"$DIR/hostd.conf" <<CONF
[hostd]
heartbeat_interval_ms = 5
failure_timeout_ms = 30
state_dir = $DIR/state

[peers]
ha = 127.0.0.1:$PA
hb = 127.0.0.1:$PB

[instance nat3]
primary = ha
backup = hb
on_backup_lost = degrade
replica_vhost = /bin/echo replica-of %INSTANCE% from %LOG%
CONF
run() { # NAME PORT
	start_hostd "$1" $RT "$HOSTD" --config "$DIR/hostd.conf" --name "$1" \
		--listen "127.0.0.1:$2" --control "$DIR/$1.sock"
}
state() { control "$1" status "inst('nat3')['state']"; }
is_state() { [ "$(state "$1")" = "$2" ]; }

run hb "$PB"
run ha "$PA"
wait_for 3 is_state ha protected || fail "nat3 on ha is $(state ha)"
sleep 0.2
echoes=$(control ha status "[p for p in r['peers'] if p['name'] == 'hb'][0]['as_backup']")
echo "ha -> hb heartbeats: $echoes"

stop_hostd ha TERM
sleep 0.2
grep -q "primary ha is stopping on purpose" "$DIR/hb.log" || fail "hb did not see ha leave"
is_state hb waiting-for-stream || fail "nat3 on hb is $(state hb) after ha left on purpose"
echo "negative control: ha stopped on purpose, hb does not fail over (nat3 $(state hb))"

run ha "$PA"
wait_for 3 is_state ha protected || fail "nat3 on ha is $(state ha) after restart"
"$FAKE" stream "127.0.0.1:$PB" nat3 --queues 1 --inputs 50 --pals 50 --linger-ms 3000 \
	>"$DIR/stream.out" 2>&1 &
CLEANUPS+=("kill $!")
wait_for 3 is_state hb receiving || fail "nat3's log does not reach hb"
stop_hostd ha KILL
wait_for 3 is_state hb replica-live-unprotected || fail "nat3 on hb is $(state hb)"
reason=$(control hb status "inst('nat3')['failover']['reason']")
detect=$(control hb status "inst('nat3')['failover']['detection_ms']")
echo "ha killed: hb failed nat3 over: $reason; detection $detect ms after the last heartbeat"
wait_for 2 grep -q "replica-of nat3 from $DIR/state/nat3-1.replay" "$DIR/state/nat3.vhost.log" ||
	fail "the replica command did not run with the replay file"

run ha "$PA"
wait_for 3 is_state ha protected || fail "nat3 on ha is $(state ha)"
stop_hostd hb KILL
wait_for 3 is_state ha backup-lost || fail "nat3 on ha is $(state ha) after hb died"
unprotected=$(control ha status "inst('nat3')['unprotected']")
policy=$(control ha status "inst('nat3')['on_backup_lost']")
[ "$unprotected" = True ] && [ "$policy" = degrade ] || fail "status: $unprotected $policy"
grep -q "WARNING: backup hb lost: .*UNPROTECTED" "$DIR/ha.log" || fail "no loud backup-lost warning"
echo "hb killed: nat3 on ha is backup-lost, unprotected, policy $policy"
echo "check-pair: OK"
