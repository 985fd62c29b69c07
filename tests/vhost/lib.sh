# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for ftmb-vhost's integration tests (sourced). Each test gets a
# unique work directory, DPDK file prefixes and socket names, and a trap
# that stops every process it started and removes what it created.

set -u
BUILD=${BUILD:-build}
VHOST=$BUILD/ftmb-vhost
GUEST=$BUILD/tests/vhost/test-guest
EXT=$BUILD/tests/vhost/test-ext
BACKUP=$BUILD/tests/vhost/fake-backup
TAG=vhost-$(basename "$0" .sh)-$$
WORK=$(mktemp -d "/tmp/$TAG.XXXX")
EAL="--lcores=0@(0-1) --no-huge --no-pci --log-level=lib.vhost.*:notice --log-level=pmd.net.memif:${MEMIF_LOG:-notice}"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -f "/dev/shm/$TAG"-*
	[ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
	rm -rf "/var/run/dpdk/$TAG"-*
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in "$WORK"/*.log; do
		echo "--- $f"
		grep -v '^EAL:\|^TELEMETRY' "$f" | tail -20
	done
	exit 1
}

. "$(dirname "${BASH_SOURCE[0]}")/../procs.sh"

# start NAME CMD...: runs CMD in the background, output in $WORK/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
}

# ext_peer NAME N: test-ext with N memif clients of ext0..ext(N-1).sock,
# the memif servers of ftmb-vhost's external ports (started first: a memif
# client needs its server up); extra args follow.
ext_peer() {
	local name=$1 n=$2 i vdevs=()
	shift 2
	for ((i = 0; i < n; i++)); do
		vdevs+=(--vdev "net_memif$i,role=client,socket=$WORK/ext$i.sock")
	done
	start "$name" "$EXT" $EAL -m 256 --file-prefix="$TAG-$name" "${vdevs[@]}" \
		-- --go-file "$WORK/go" --records "$WORK/$name.rec" "$@"
	wait_for "$WORK/$name.log" "waiting for links"
}

# vhost_instance NAME QUEUES EXT_INDEX MODE [EXTRA]: an --instance spec.
vhost_instance() {
	echo "name=$1,socket=$WORK/$1.vhost,region=/dev/shm/$TAG-$1,queues=$2,port=[net_memif$3,role=server,socket=$WORK/ext$3.sock],mode=$4${5:+,$5}"
}

# guest NAME QUEUES MODE [ARGS...]: test-guest on instance NAME's socket.
guest() {
	local name=$1 q=$2 mode=$3
	shift 3
	start "guest_$name" "$GUEST" $EAL -m 256 --file-prefix="$TAG-g$name" \
		--vdev "net_virtio_user0,path=$WORK/$name.vhost,queues=$q" \
		-- --mode "$mode" --queues "$q" --region "/dev/shm/$TAG-$name" "$@"
}

go() {
	touch "$WORK/go"
}
