#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ftmb-hostd's failure detection and failover, against fake primaries:
#  1. a primary streams nat1's log and heartbeats, then its heartbeats stop
#     (its sockets stay open): the backup must declare it failed after the
#     timeout, dump nat1's log as a replay file that re-decodes to exactly
#     what was streamed after the cut, start the replica commands with the
#     file's path, report nat1 replica-live-unprotected with the timeline,
#     and refuse a new stream for nat1 from the old primary (fencing);
#  2. a primary is killed: its connections close and the backup fails nat2
#     over at once, well before the timeout.
# While heartbeats flow, nothing fails over (the negative control).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/hostd/lib.sh

PORT=$(free_port)
ADDR=127.0.0.1:$PORT
TIMEOUT_MS=30
# A 30 ms failure timeout needs the heartbeat sender and the detector to be
# scheduled within milliseconds; on a loaded 2-core machine a normal-priority
# thread can wait longer than that, so both run SCHED_FIFO, as the systemd
# unit runs ftmb-hostd (they sleep almost all the time).
RT=
chrt -f 10 true 2>/dev/null && RT="chrt -f 10"

# The replica "commands" record their arguments and keep a copy of the
# replay file, then exit.
cat >"$DIR/replica.sh" <<'SH'
#!/bin/sh
what=$1; shift
echo "$@" >"$(dirname "$0")/replica-$what-$(basename "$2" 2>/dev/null || echo "$1").args"
[ "$what" = vhost ] && cp "$1" "$(dirname "$0")/replay-$2.copy"
exit 0
SH
chmod +x "$DIR/replica.sh"

cat >"$DIR/hostd.conf" <<CONF
[hostd]
name = hb
listen = $ADDR
control_socket = $DIR/hb.sock
state_dir = $DIR/state
heartbeat_interval_ms = 5
failure_timeout_ms = $TIMEOUT_MS

[peers]
pa = 127.0.0.1:1
pb = 127.0.0.1:2

[instance nat1]
primary = pa
backup = hb
replica_vhost = $DIR/replica.sh vhost %LOG% %INSTANCE%
replica_middlebox = $DIR/replica.sh middlebox %INSTANCE% %INSTANCE%

[instance nat2]
primary = pb
backup = hb
on_backup_lost = degrade
replica_vhost = $DIR/replica.sh vhost %LOG% %INSTANCE%
CONF
"$HOSTD" --config "$DIR/hostd.conf" --check-config || fail "the test configuration is refused"
start_hostd hb $RT "$HOSTD" --config "$DIR/hostd.conf"

state() { control hb status "inst('$1')['state']"; }
is_state() { [ "$(state "$1")" = "$2" ]; }

# --- 1: heartbeats stop --------------------------------------------------
$RT "$FAKE" stream "$ADDR" nat1 --queues 2 --inputs 500 --pals 500 --cut-at 100 \
	--heartbeat-as pa --beat-ms 1500 --linger-ms 1500 >"$DIR/pa.out" 2>&1 &
PA=$!
CLEANUPS+=("kill $PA")
wait_for 3 is_state nat1 receiving || fail "nat1 is not receiving: $(state nat1)"
sleep 0.3
is_state nat1 receiving || fail "nat1 failed over while heartbeats flowed: $(state nat1)"
[ -e "$DIR/replica-vhost-nat1.args" ] && fail "a replica started while heartbeats flowed"
echo "negative control: heartbeats flowing, nat1 stays $(state nat1), no replica started"

wait_for 5 test -e "$DIR/replica-vhost-nat1.args" || fail "no replica started for nat1"
wait_for 2 is_state nat1 replica-live-unprotected || fail "nat1 is $(state nat1)"
cat "$DIR/pa.out"
reason=$(control hb status "inst('nat1')['failover']['reason']")
detect=$(control hb status "inst('nat1')['failover']['detection_ms']")
start=$(control hb status "inst('nat1')['failover']['replica_start_ms']")
replay=$(control hb status "inst('nat1')['failover']['replay_file']")
case $reason in "heartbeats stopped"*) ;; *) fail "nat1's failure reason: $reason" ;; esac
python3 -c "import sys; d=float(sys.argv[1]); sys.exit(0 if $TIMEOUT_MS <= d < 1000 else 1)" \
	"$detect" || fail "detection after $detect ms, expected from $TIMEOUT_MS ms"
echo "heartbeat stop: nat1 failed over: $reason; detection $detect ms after the last" \
	"heartbeat (timeout $TIMEOUT_MS ms); replica started $start ms after detection"

grep -q "PRIMARY pa FAILED: heartbeats stopped" "$DIR/hb.log" || fail "no PRIMARY FAILED line"
grep -q "WARNING: instance nat1: REPLICA LIVE on this host, UNPROTECTED" "$DIR/hb.log" ||
	fail "no loud UNPROTECTED warning"
read -r args <"$DIR/replica-vhost-nat1.args"
[ "$args" = "$replay nat1" ] || fail "replica_vhost got '$args', expected '$replay nat1'"
read -r args <"$DIR/replica-middlebox-nat1.args"
[ "$args" = "nat1 nat1" ] || fail "replica_middlebox got '$args'"
echo "replica commands ran with: $replay nat1 / nat1 nat1"
"$FAKE" verify-dump "$DIR/replay-nat1.copy" nat1 --queues 2 --inputs 500 --pals 500 \
	--cut-at 100 || fail "the replay file does not hold what was streamed"

if "$FAKE" stream "$ADDR" nat1 --queues 2 --inputs 10 --pals 10 >/dev/null 2>&1; then
	fail "a new stream for nat1 from the old primary was accepted after failover"
fi
grep -q "refusing its old primary's stream (fenced)" "$DIR/hb.log" || fail "no fencing log"
echo "fencing: a new stream for nat1 from the old primary is refused"
wait "$PA"

# --- 2: the primary dies -------------------------------------------------
$RT "$FAKE" stream "$ADDR" nat2 --queues 1 --inputs 200 --pals 200 \
	--heartbeat-as pb --beat-ms 10000 >"$DIR/pb.out" 2>&1 &
PB=$!
CLEANUPS+=("kill $PB")
wait_for 3 is_state nat2 receiving || fail "nat2 is not receiving"
wait_for 3 grep -q "acknowledged" "$DIR/pb.out" || fail "nat2's stream was not acknowledged"
kill -9 "$PB"
wait "$PB" 2>/dev/null
wait_for 3 is_state nat2 replica-live-unprotected || fail "nat2 is $(state nat2)"
reason=$(control hb status "inst('nat2')['failover']['reason']")
detect=$(control hb status "inst('nat2')['failover']['detection_ms']")
case $reason in *"closed by the peer"*) ;; *) fail "nat2's failure reason: $reason" ;; esac
echo "primary killed: nat2 failed over: $reason; detection $detect ms after the last heartbeat"
"$FAKE" verify-dump "$DIR/replay-nat2.copy" nat2 --queues 1 --inputs 200 --pals 200 ||
	fail "nat2's replay file"

unprot=$(control hb status '[i["name"] for i in r["instances"] if i["unprotected"]]')
[ "$unprot" = '["nat1", "nat2"]' ] || fail "status lists unprotected: $unprot"
echo "status: unprotected instances $unprot"
echo "check-failover: OK"
