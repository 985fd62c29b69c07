#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ftmbctl against a real ftmb-hostd with a private control socket, whose
# backup side holds two instances fed by fake primaries: nat2 keeps receiving
# (its log has a checkpoint cut), nat1's primary is killed so that hostd fails it
# over (its status then has a failover timeline). Checks:
#  - list, status, stats: the --json document is the daemon's answer (same as
#    a plain socket client reads), and the tables show its values;
#  - stats INSTANCE narrows to that instance; an unknown instance exits 1;
#  - an unknown command exits 2; a command hostd does not serve yet
#    (checkpoint) exits 1 with the daemon's error;
#  - a daemon that is down (no socket, a stale socket), silent or talking
#    nonsense exits 2 saying what to do;
#  - a non-root user is refused both ways: by the socket's mode and, when the
#    socket is opened up, by the daemon's SO_PEERCRED check;
#  - the proposed operations (checkpoint, failover, migrate) against a fake
#    daemon: the exact request line, and the answer's rendering.
# ftmbctl runs under ASan+UBSan when that build exists, and must never print
# a sanitizer report.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/hostd/lib.sh
CTL=$BUILD/ftmbctl
[ -x "$BUILD/san/ftmbctl" ] && CTL=$BUILD/san/ftmbctl
[ -x "$CTL" ] || fail "$CTL is not built (run make first)"
echo "ftmbctl under test: $CTL"
SOCK=$DIR/hb.sock

# ctl EXPECTED-EXIT NAME ARGS...: runs ftmbctl against hb, keeps its stdout
# and stderr in $DIR/NAME.out and .err, and checks its exit status.
ctl() {
	local want=$1 name=$2 rc
	shift 2
	"$CTL" --socket "$SOCK" "$@" >"$DIR/$name.out" 2>"$DIR/$name.err"
	rc=$?
	[ "$rc" = "$want" ] || fail "ftmbctl $* exited $rc, expected $want:" \
		"$(cat "$DIR/$name.out" "$DIR/$name.err")"
}

# has NAME.out|NAME.err REGEX: the file has a line matching REGEX.
has() {
	grep -qE -- "$2" "$DIR/$1" || fail "$1 has no line matching '$2':$(printf '\n')$(cat "$DIR/$1")"
}

# py EXPR FILE...: evaluates EXPR with j[i] bound to the JSON document in
# the i-th FILE, and prints it.
py() {
	python3 - "$@" <<'PY'
import json, sys
j = [json.load(open(f)) for f in sys.argv[2:]]
inst = lambda d, n: next(i for i in d["instances"] if i["name"] == n)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
PY
}

# --- a daemon with two instances -------------------------------------------
PORT=$(free_port)
ADDR=127.0.0.1:$PORT
cat >"$DIR/replica.sh" <<'SH'
#!/bin/sh
exit 0
SH
chmod +x "$DIR/replica.sh"
cat >"$DIR/hostd.conf" <<CONF
[hostd]
name = hb
listen = $ADDR
control_socket = $SOCK
state_dir = $DIR/state
heartbeat_interval_ms = 20
failure_timeout_ms = 5000

[peers]
pa = 127.0.0.1:1
pb = 127.0.0.1:2

[instance nat1]
primary = pa
backup = hb
replica_vhost = $DIR/replica.sh %LOG%
replica_middlebox = $DIR/replica.sh %INSTANCE%

[instance nat2]
primary = pb
backup = hb
on_backup_lost = degrade
replica_vhost = $DIR/replica.sh %LOG%
CONF
start_hostd hb "$HOSTD" --config "$DIR/hostd.conf"

# pb stays up (heartbeating) so that nat2 keeps receiving.
"$FAKE" stream "$ADDR" nat2 --queues 2 --inputs 300 --pals 200 --cut-at 100 --heartbeat-as pb \
	--beat-ms 60000 >"$DIR/pb.log" 2>&1 &
CLEANUPS+=("kill $!")
wait_for 5 grep -q "sent CUT" "$DIR/pb.log" || fail "nat2's stream was not acknowledged"
has_cut() { [ "$(control hb status "inst('nat2')['cut'] is not None")" = True ]; }
wait_for 5 has_cut || fail "nat2's cut did not arrive"
"$FAKE" stream "$ADDR" nat1 --queues 1 --inputs 50 --pals 50 --heartbeat-as pa \
	--beat-ms 30000 >"$DIR/pa.log" 2>&1 &
PA=$!
CLEANUPS+=("kill $PA")
wait_for 5 grep -q acknowledged "$DIR/pa.log" || fail "nat1's stream was not acknowledged"
{ kill -9 "$PA" && wait "$PA"; } 2>/dev/null
failed_over() { [ "$(control hb list "[i['state'] for i in r['instances']]")" = \
	'["replica-live-unprotected", "receiving"]' ]; }
wait_for 5 failed_over || fail "nat1 did not fail over: $(control hb list)"
wait_for 5 grep -q "replica.*exited" "$DIR/hb.log"

# --- list --------------------------------------------------------------------
control hb list >"$DIR/list.raw"
ctl 0 list-json list --json
py 'j[0] == j[1]' "$DIR/list.raw" "$DIR/list-json.out" | grep -qx True ||
	fail "ftmbctl --json list is not the daemon's answer: $(cat "$DIR/list-json.out")"
ctl 0 list list
has list.out '^INSTANCE +ROLE +STATE$'
has list.out '^nat1 +primary \(replica\) +replica-live-unprotected$'
has list.out '^nat2 +backup +receiving$'
echo "list: --json is the daemon's answer; table: $(sed -n 2p "$DIR/list.out" | tr -s ' ')"

# --- status ------------------------------------------------------------------
ctl 0 status-json status --json
ctl 0 status status
S=$DIR/status-json.out
[ "$(py 'j[0]["ok"], j[0]["host"], [i["name"] for i in j[0]["instances"]]' "$S")" = \
	"(True, 'hb', ['nat1', 'nat2'])" ] || fail "status --json: $(cat "$S")"
seq2=$(py 'inst(j[0], "nat2")["cut"]["ckpt_seq"]' "$S")
reason=$(py 'inst(j[0], "nat1")["failover"]["reason"]' "$S")
detect=$(py 'inst(j[0], "nat1")["failover"]["detection_ms"]' "$S")
has status.out '^ftmb-hostd hb: up .*, listening on 127\.0\.0\.1:[0-9]+, heartbeats every 20\.0 ms, failure after 5\.00 s$'
has status.out '^WARNING: nat1 is UNPROTECTED \(replica-live-unprotected\)$'
has status.out '^INSTANCE +ROLE +STATE +PRIMARY +BACKUP +PROTECTED +LAST CKPT +FAILOVER$'
has status.out '^nat1 +primary \(replica\) +replica-live-unprotected +hb +- +NO +none +yes \(below\)$'
has status.out "^nat2 +backup +receiving +pb +hb +yes +#$seq2 +-\$"
has status.out '^pa +127\.0\.0\.1:1 +FAILED: .* +-$'
has status.out "^failover of nat1: $reason\$"
took=$(py '"%.0f us" % (j[0] * 1000) if j[0] < 1 else "%.1f ms" % j[0]' <(echo "$detect"))
has status.out "^[0-9:.]{12} +failure declared +$took after the last heartbeat\$"
has status.out '^[0-9:.]{12} +replica started +.* after declaring$'
has status.out '^  replay file: .*/state/nat1-[0-9]+\.replay$'
has status.out '^  replica vhost: pid [0-9]+, exited with status 0$'
has status.out '^  replica middlebox: pid [0-9]+, exited with status 0$'
echo "status: nat1 UNPROTECTED with its failover timeline ($reason; declared $detect ms" \
	"after the last heartbeat), nat2 protected at checkpoint #$seq2"

# --- stats -------------------------------------------------------------------
ctl 0 stats-json stats --json
ctl 0 stats stats
inputs=$(py 'inst(j[0], "nat2")["inputs"]' "$DIR/stats-json.out")
held=$(py 'inst(j[0], "nat2")["held_inputs"]' "$DIR/stats-json.out")
[ "$inputs" = 600 ] || fail "stats: nat2 has $inputs inputs, expected 600"
has stats.out '^peer connections: [0-9]+ open, [0-9]+ accepted, 0 refused; 0 protocol errors$'
has stats.out "^nat2 +1 +0 +[0-9]+ +600 +400 +[0-9]+ +1 +0 +[0-9]+ +$held / [0-9]+ +[0-9.]+ KiB of 256\.0 MiB\$"
ctl 0 stats-one stats nat2 --json
[ "$(py '[i["name"] for i in j[0]["instances"]], j[0]["protocol_errors"]' "$DIR/stats-one.out")" = \
	"(['nat2'], 0)" ] || fail "stats nat2 --json: $(cat "$DIR/stats-one.out")"
echo "stats: nat2 streamed $inputs inputs, holds $held after its cut; 'stats nat2' narrows to it"

# --- errors ------------------------------------------------------------------
ctl 1 nosuch stats nosuch
has nosuch.err '^ftmbctl: no instance nosuch on this host \(ftmbctl list shows them\)$'
ctl 1 nosuch-json stats nosuch --json
[ "$(py 'j[0]["ok"]' "$DIR/nosuch-json.out")" = False ] || fail "stats nosuch --json"
ctl 2 unknown frobnicate
has unknown.err '^ftmbctl: unknown command "frobnicate" \(ftmbctl --help lists them\)$'
ctl 2 usage migrate nat1
has usage.err '^ftmbctl: usage: ftmbctl migrate INSTANCE HOST$'
ctl 1 ckpt checkpoint nat1
has ckpt.err '^ftmbctl: ftmb-hostd refused checkpoint: no VM instance nat1 runs on this host as primary \(ftmbctl list\)$'
ctl 1 ckpt-json checkpoint nat1 --json
[ "$(py 'j[0]["ok"], j[0]["error"]' "$DIR/ckpt-json.out")" = \
	"(False, 'no VM instance nat1 runs on this host as primary (ftmbctl list)')" ] ||
	fail "checkpoint --json: $(cat "$DIR/ckpt-json.out")"
ctl 1 fo failover nat1
has fo.err '^ftmbctl: ftmb-hostd refused failover: no VM instance nat1 runs on this host as primary \(ftmbctl list\)$'
ctl 1 mig migrate nat1 hb
has mig.err '^ftmbctl: ftmb-hostd refused migrate: unknown cmd: expected status, list, stats, checkpoint or failover$'
has mig.err 'does not implement "migrate" yet'
echo "errors: unknown instance exit 1, unknown command exit 2, wrong arguments exit 2," \
	"checkpoint or failover of an instance that is not a VM here exit 1: $(head -1 "$DIR/ckpt.err");" \
	"migrate (not served yet) exit 1"

# --- not root ----------------------------------------------------------------
install -m 755 "$CTL" "$DIR/ftmbctl"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$DIR/ftmbctl" "$@"; }
chmod 700 "$DIR"
as_nobody --socket "$SOCK" list >"$DIR/nobody.out" 2>"$DIR/nobody.err"
rc=$?
[ $rc = 2 ] || fail "nobody's list: exit $rc"
has nobody.err '^ftmbctl: permission denied on .*: the control socket serves root only, run ftmbctl as root'
# Opened up, the socket lets nobody connect: the daemon itself must refuse.
chmod 755 "$DIR"
chmod 666 "$SOCK"
as_nobody --socket "$SOCK" list >"$DIR/nobody2.out" 2>"$DIR/nobody2.err"
rc=$?
chmod 600 "$SOCK"
[ $rc = 2 ] || fail "nobody's list through an open socket: exit $rc: $(cat "$DIR/nobody2.out")"
[ -s "$DIR/nobody2.out" ] && fail "nobody got an answer: $(cat "$DIR/nobody2.out")"
has nobody2.err 'refused this connection: it serves root only, run ftmbctl as root'
grep -q "refusing a client (not root)" "$DIR/hb.log" || fail "hostd logged no refusal"
# Negative control: the same binary as root, through the same path, is served.
"$DIR/ftmbctl" --socket "$SOCK" list >/dev/null || fail "root was refused"
echo "not root: refused by the socket mode and by the daemon (SO_PEERCRED):" \
	"$(cat "$DIR/nobody2.err")"

# --- daemon down ---------------------------------------------------------------
stop_hostd hb
ctl 2 down list
has down.err "^ftmbctl: cannot reach ftmb-hostd at $SOCK: is it running\\? \\(systemctl start ftmb-hostd"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK"
ctl 2 stale list
has stale.err "^ftmbctl: cannot reach ftmb-hostd at $SOCK: is it running\\?"
rm -f "$SOCK"
echo "daemon down: exit 2: $(cat "$DIR/down.err")"

# --- a fake daemon: silence, nonsense, and the proposed operations -------------
# fake_daemon REPLY: serves one connection on $SOCK, records the request line
# in $DIR/request and answers REPLY (its newlines removed), or, when REPLY is
# empty, holds the connection open for 2 s without answering.
fake_daemon() {
	rm -f "$SOCK" "$DIR/request"
	python3 - "$SOCK" "$DIR/request" "$1" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
f = c.makefile("rw")
open(sys.argv[2], "w").write(f.readline())
if sys.argv[3]:
    f.write(sys.argv[3].replace("\n", "") + "\n")
    f.flush()
else:
    time.sleep(2)
PY
	FAKED=$!
	wait_for 5 test -S "$SOCK" || fail "the fake daemon did not start"
}
# request_is JSON: the fake daemon received exactly that object.
request_is() {
	wait "$FAKED"
	[ "$(py 'j[0]' "$DIR/request")" = "$1" ] || fail "request was $(cat "$DIR/request"), expected $1"
}

fake_daemon ""
ctl 2 silent list --timeout 1
has silent.err "^ftmbctl: ftmb-hostd at $SOCK did not answer within 1 s \\(--timeout SECONDS"
request_is '{"cmd": "list"}'
fake_daemon "hello"
ctl 2 nonsense list
has nonsense.err 'answered something that is not a control-protocol answer .*: hello$'
request_is '{"cmd": "list"}'
echo "silent daemon: exit 2 after --timeout 1; nonsense: exit 2"

fake_daemon '{"ok":true,"instance":"nat1","ckpt_seq":42,"pause_ms":1.3,"dirty_pages":812,"bytes":3325952,"took_ms":9.8,"backup":"hb"}'
ctl 0 op-ckpt checkpoint nat1
request_is '{"cmd": "checkpoint", "instance": "nat1"}'
has op-ckpt.out '^checkpoint #42 of nat1: VM paused 1\.3 ms, 812 dirty pages \(3\.2 MiB\), streamed to the backup hb; answered 9\.8 ms after the request$'
fake_daemon '{"ok":true,"instance":"nat1","from":"pa","to":"hb","paused_ms":4.2,"took_ms":230.1}'
ctl 0 op-failover failover nat1
request_is '{"cmd": "failover", "instance": "nat1"}'
has op-failover.out '^nat1 handed over from pa to hb: the VM was paused 4\.2 ms when hb took it; answered 230\.1 ms after the request$'
has op-failover.out "^the replica's timeline: ftmbctl status on hb$"
fake_daemon '{"ok":true,"instance":"nat1","from":"pa","to":"pc","backup":"hb","final_ckpt_seq":44,"bytes":268435456,"downtime_ms":51.0,"took_ms":4100.0}'
ctl 0 op-migrate migrate nat1 pc
request_is '{"cmd": "migrate", "instance": "nat1", "host": "pc"}'
has op-migrate.out '^nat1 moved from pa to pc: 256\.0 MiB copied, final checkpoint #44, packets held for 51\.0 ms, 4\.10 s in all$'
has op-migrate.out '^nat1 is protected again, by hb$'
# The proposed status fields, a lost backup, and an instance with members
# missing (a newer or older daemon): shown as "?", never a failure.
since=$(date -u -d '-200 sec' +%Y-%m-%dT%H:%M:%S.000000Z)
ckpt_at=$(date -u -d '-2 sec' +%Y-%m-%dT%H:%M:%S.000000Z)
fake_daemon '{"ok":true,"host":"pa","uptime_ms":3723000.0,"listen":"0.0.0.0:7400","heartbeat_interval_ms":5,"failure_timeout_ms":30,
 "peers":[{"name":"hb","address":"192.0.2.2:7400","as_primary":{"connected":false,"heartbeats":0,"last_heartbeat_ms_ago":null,"leaving":false,"failed":false,"failure":null},
           "as_backup":{"backs_us_up":true,"connected":false,"backup_lost":true,"echoes":10,"rtt_last_us":45,"rtt_min_us":40,"rtt_max_us":60}},
          {"name":"hc","address":"192.0.2.3:7400","as_primary":{"connected":false,"heartbeats":0,"last_heartbeat_ms_ago":null,"leaving":false,"failed":false,"failure":null},
           "as_backup":{"backs_us_up":true,"connected":true,"backup_lost":false,"echoes":10,"rtt_last_us":45,"rtt_min_us":40,"rtt_max_us":60}}],
 "instances":[{"name":"fw1","role":"primary","state":"backup-lost","unprotected":true,"primary":"pa","backup":"hb","on_backup_lost":"degrade","last_error":null,"failover":null},
              {"name":"nat1","role":"primary","state":"protected","unprotected":false,"primary":"pa","backup":"hc","on_backup_lost":"halt","last_error":"a stream was refused: generation 3 is older than 4",
               "protected_since":"'"$since"'","last_checkpoint_at":"'"$ckpt_at"'","cut":{"ckpt_seq":42,"in":[1],"pal":[1]},"failover":null},
              {"name":"odd"}]}'
ctl 0 fake-status status
request_is '{"cmd": "status"}'
has fake-status.out '^ftmb-hostd pa: up 1 h 2 min, listening on 0\.0\.0\.0:7400, heartbeats every 5\.0 ms, failure after 30\.0 ms$'
has fake-status.out '^WARNING: fw1 is UNPROTECTED \(backup-lost; on_backup_lost = degrade\)$'
has fake-status.out '^WARNING: nat1: a stream was refused: generation 3 is older than 4$'
has fake-status.out '^fw1 +primary +backup-lost +pa +hb +NO +- +-$'
has fake-status.out '^nat1 +primary +protected +pa +hc +yes, for 3 min 2[0-9] s +#42, [0-9.]+ s ago +-$'
has fake-status.out '^odd +\? +\? +\? +\? +\? +- +-$'
has fake-status.out '^hb +192\.0\.2\.2:7400 +not connected +LOST$'
has fake-status.out '^hc +192\.0\.2\.3:7400 +not connected +connected, rtt 45 us$'
echo "status of a primary (fake): $(grep '^nat1' "$DIR/fake-status.out" | tr -s ' ')"
rm -f "$SOCK"
if grep -lE "AddressSanitizer|LeakSanitizer|runtime error" "$DIR"/*.err; then
	fail "sanitizer report from ftmbctl"
fi
echo "proposed operations: requests as in CONTROL.md; $(cat "$DIR/op-ckpt.out")"
echo "check-ctl: OK"
