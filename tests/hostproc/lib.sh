# SPDX-License-Identifier: GPL-2.0-or-later
# Host-process mode on one machine (sourced by the tests and benchmarks):
#
#   root namespace       host A (netns)                      host B (netns)
#   ftmb-traffic  memif  ftmb-vhost <-vhost-user-> middlebox   ftmb-hostd (backup)
#   (memif server) <---> ftmb-hostd (primary)       veth       replicas on failover
#                        ---- replication, heartbeats ----->
#
# The generator is the memif server, so that a replica's ftmb-vhost on host
# B can take over the external link. Every name (namespaces, sockets, shm
# files, DPDK prefixes) carries $TAG; cleanup kills whatever runs in the
# namespaces and removes what the run created.

set -u
BUILD=${BUILD:-build}
TAG=hp$$
WORK=$(mktemp -d "/tmp/ftmb-$TAG.XXXX")
NS_A=ftmb-$TAG-a
NS_B=ftmb-$TAG-b
NET=10.$((100 + $$ % 100)).$(($$ / 100 % 250))
IP_A=$NET.1
IP_B=$NET.2
REPL_PORT=7400
EAL_BASE="--no-huge --no-pci --no-telemetry --log-level=lib.eal:warning --log-level=lib.vhost.*:warning"
PIDS=()
# The interpreter itself, resolved once: a version manager's python3 shim
# can take most of a second to start on a busy machine, and the failure
# injection (kill_host.py) must come when asked.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

log() {
	echo "$(basename "$0" .sh): $*"
}

fail() {
	echo "FAIL: $*"
	for f in "$WORK"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		grep -v '^EAL:\|^TELEMETRY' "$f" | tail -15
	done
	exit 1
}

. "$(dirname "${BASH_SOURCE[0]}")/../procs.sh"

# teardown_hosts: ends every process this run started and removes both
# hosts, their shared-memory files and DPDK run-time directories; $WORK
# stays (a test may set up fresh hosts again).
teardown_hosts() {
	local p ns
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for ns in "$NS_A" "$NS_B"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	PIDS=()
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	# vhost-user sockets too: one left by a process that crashed would
	# start the next replica middlebox before its region exists
	rm -f /dev/shm/ftmb-"$TAG"-* "$EXT_SOCK" "$WORK"/*.vhost
	rm -rf /var/run/dpdk/ftmb-"$TAG"-*
}

cleanup() {
	teardown_hosts
	[ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

# The two hosts: namespaces joined by a veth pair.
setup_hosts() {
	ip netns add "$NS_A" && ip netns add "$NS_B" || fail "cannot create namespaces"
	ip link add "v$TAG-a" type veth peer name "v$TAG-b" || fail "cannot create veth"
	ip link set "v$TAG-a" netns "$NS_A"
	ip link set "v$TAG-b" netns "$NS_B"
	ip -n "$NS_A" addr add "$IP_A/24" dev "v$TAG-a"
	ip -n "$NS_B" addr add "$IP_B/24" dev "v$TAG-b"
	ip -n "$NS_A" link set "v$TAG-a" up
	ip -n "$NS_B" link set "v$TAG-b" up
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
}

# start NAME NS|- CMD...: runs CMD in the background (in namespace NS, or
# here with -), output in $WORK/NAME.log.
start() {
	local name=$1 ns=$2
	shift 2
	if [ "$ns" = - ]; then
		"$@" >"$WORK/$name.log" 2>&1 &
	else
		ip netns exec "$ns" "$@" >"$WORK/$name.log" 2>&1 &
	fi
	PIDS+=($!)
	eval "PID_$name=$!"
}

# appears FILE PATTERN [SECONDS]: whether a line of FILE matches within
# SECONDS (default 10).
appears() {
	local i
	for ((i = 0; i < ${3:-10} * 20; i++)); do
		grep -aq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# Paths of instance NAME on host H (a or b): hosts share the file system.
vhost_sock() { echo "$WORK/$2-$1.vhost"; }
region() { echo "/dev/shm/ftmb-$TAG-$2-$1"; }
EXT_SOCK=$WORK/ext.sock

# hostd_conf_head TIMEOUT_MS NAME: the start of every test's hostd.conf:
# hosts a and b (and c, IP_3, with REPROTECT set) as peers, a failure timeout of
# FAILURE_TIMEOUT_MS or TIMEOUT_MS, and instance NAME with primary a and
# backup b (re-protected by c with REPROTECT set); its other keys follow.
hostd_conf_head() {
	cat <<EOF
[hostd]
heartbeat_interval_ms = 5
failure_timeout_ms = ${FAILURE_TIMEOUT_MS:-$1}

[peers]
a = $IP_A:$REPL_PORT
b = $IP_B:$REPL_PORT
${REPROTECT:+c = $IP_3:$REPL_PORT}

[instance $2]
primary = a
backup = b
${REPROTECT:+reprotect = c}
on_backup_lost = halt
EOF
}

# write_hostd_conf NAME MB THREADS: both hosts' configuration. Host b
# starts the replicas of instance NAME when host a fails, or in advance
# with REPLICA_START=standby.
write_hostd_conf() {
	local name=$1 mb=$2 threads=$3 standby=
	[ "${REPLICA_START:-on-failover}" = standby ] && standby=,standby=on
	hostd_conf_head 30 "$name" >"$WORK/hostd.conf"
	cat >>"$WORK/hostd.conf" <<EOF
replica_start = ${REPLICA_START:-on-failover}
replica_vhost = $PWD/$BUILD/ftmb-vhost $EAL_BASE -m 512 --lcores=0@(0-1) --file-prefix=ftmb-$TAG-b-vhost -- --instance name=$name,socket=$(vhost_sock "$name" b),region=$(region "$name" b),queues=$threads,port=[net_memif0,role=client,socket=$EXT_SOCK,socket-abstract=no],replay=%LOG%$standby${REPLICA_VHOST_KEYS:-} --stats $WORK/vhost-b.json
replica_middlebox = $PWD/tests/hostproc/start-mb.sh $(vhost_sock "$name" b) $PWD/$BUILD/ftmb-$mb --threads $threads ${MB_ARGS:-} --region $(region "$name" b) --io 'dpdk:$EAL_BASE${MB_EAL:-} -m 256 --file-prefix=ftmb-$TAG-b-mb --vdev=net_virtio_user0,path=$(vhost_sock "$name" b),queues=$threads'
EOF
}

# start_hostd H: the host daemon of host a or b (or c, a third host some
# tests add: NS_3, IP_3), at real-time priority as its systemd unit runs
# it: on two loaded cores a normal-priority heartbeat can be late by more
# than the 30 ms failure timeout. Its configuration is $WORK/hostd.conf, or
# $HOSTD_CONF.
start_hostd() {
	local h=$1 ns ip
	case $h in
	a) ns=$NS_A ip=$IP_A ;;
	b) ns=$NS_B ip=$IP_B ;;
	*) ns=$NS_3 ip=$IP_3 ;;
	esac
	mkdir -p "$WORK/state-$h"
	start "hostd_$h" "$ns" chrt -f 10 "$BUILD/ftmb-hostd" --config "${HOSTD_CONF:-$WORK/hostd.conf}" --name "$h" \
		--listen "$ip:$REPL_PORT" --control "$WORK/hostd-$h.sock" \
		--state-dir "$WORK/state-$h" ${HOSTD_ARGS:-}
	wait_for "$WORK/hostd_$h.log" "ftmb-hostd $h up"
}

# start_vhost NAME THREADS MODE [EXTRA-KEYS]: ftmb-vhost on host a.
start_vhost() {
	local name=$1 threads=$2 mode=$3 extra=${4:-} backup=
	[ "$mode" = off ] || backup=",backup=$IP_B:$REPL_PORT"
	start vhost_a "$NS_A" "$BUILD/ftmb-vhost" $EAL_BASE ${VHOST_EAL:---lcores=0@(0-1)} -m 512 \
		--file-prefix="ftmb-$TAG-a-vhost" -- \
		--instance "name=$name,socket=$(vhost_sock "$name" a),region=$(region "$name" a),queues=$threads,port=[net_memif0,role=client,socket=$EXT_SOCK,socket-abstract=no],mode=$mode$backup$extra" \
		--stats "$WORK/vhost-a.json"
	wait_for "$WORK/vhost_a.log" "serving"
	[ "$mode" = off ] || wait_for "$WORK/vhost_a.log" "connected to backup"
}

# start_mb MB NAME THREADS: the middlebox on host a, behind ftmb-vhost, once
# it runs.
start_mb() {
	local mb=$1 name=$2 threads=$3
	start mb_a "$NS_A" tests/hostproc/start-mb.sh "$(vhost_sock "$name" a)" \
		"$BUILD/ftmb-$mb" --threads "$threads" ${MB_ARGS:-} --region "$(region "$name" a)" \
		--io "dpdk:$EAL_BASE${MB_EAL:-} -m 256 --file-prefix=ftmb-$TAG-a-mb --vdev=net_virtio_user0,path=$(vhost_sock "$name" a),queues=$threads"
	wait_for "$WORK/vhost_a.log" "instance $name: guest connected"
	# every worker registered: its queue is ready, inputs go to it from now on
	wait_for "$WORK/mb_a.log" "ftmb-$mb: running"
}

# traffic NAME ARGS...: ftmb-traffic as the memif server, in the
# background; it sends once `go` is called. Its JSON report goes to
# $WORK/NAME.json, the rest to NAME.log.
traffic() {
	local name=$1 i
	shift
	rm -f "$WORK/go" "$WORK/stop"
	"$BUILD/ftmb-traffic" $EAL_BASE ${TRAFFIC_EAL:-} --file-prefix="ftmb-$TAG-$name" -- \
		--dev "net_memif0,role=server,socket=$EXT_SOCK,socket-abstract=no" --go-file "$WORK/go" --quiet --json "$@" \
		>"$WORK/$name.json" 2>"$WORK/$name.log" &
	PIDS+=($!)
	eval "PID_$name=$!"
	for ((i = 0; i < 200; i++)); do
		[ -S "$EXT_SOCK" ] && return 0
		sleep 0.05
	done
	fail "ftmb-traffic did not create its memif socket $EXT_SOCK"
}

go() {
	touch "$WORK/go"
}

# wait_traffic NAME: until the traffic run ends.
wait_traffic() {
	local pid
	eval "pid=\${PID_$1}"
	wait "$pid" || fail "ftmb-traffic $1 failed"
	eval "PID_$1="
}

# json FILE EXPR: evaluates a Python expression over the JSON document j.
json() {
	"$PYTHON" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
