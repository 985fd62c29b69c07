# SPDX-License-Identifier: GPL-2.0-or-later
# Middlebox VMs on a network of hosts (sourced by the tests in tests/vm/).
#
#                       namespace T: the shared L2 segment
#      +----------------------------------------------------------------+
#      |  gen (ftmb-traffic, af_packet)                                 |
#      |   |                                                            |
#      |  seg-g   seg-cl     seg-s        seg-a               seg-b     |
#      |   +--------+---------+--- br0 ----+-------------------+        |
#      +-----------|---------|------------|-------------------|--------+
#           client C (curl)  server S     | ext               | ext
#           10.77.0.2        203.0.113.2  |                   |
#                                   host A                 host B
#                        ftmb-vhost (port af_packet:ext)   ftmb-hostd (backup),
#                        QEMU (the middlebox VM)           a replica on failover
#                        ftmb-hostd (primary)
#                              10.x.y.1 ==== repl ==== 10.x.y.2
#
# Host A and host B are tests/hostproc/lib.sh's two namespaces, joined by
# their own veth pair: the replication link. It stays off the segment so
# that the log stream (a copy of every input) neither competes with the data
# path nor is flooded by the bridge, as a dedicated replication network
# would be in production. Each host's external port is a veth into the
# segment; the bridge learns the middlebox's MAC behind whichever host
# announces it.
#
# The client and the server are namespaces of their own: in one namespace
# the kernel would deliver between them locally and never ask the NAT.
#
# Every name carries $TAG (vmnet + the PID); cleanup removes what the run
# created, including the namespaces added here.

. "$(dirname "${BASH_SOURCE[0]}")/../hostproc/lib.sh" || exit 1

TAG=vmnet$$
NS_A=ftmb-$TAG-a
NS_B=ftmb-$TAG-b
NS_T=ftmb-$TAG-t
NS_C=ftmb-$TAG-c
NS_S=ftmb-$TAG-s
# A third host (reprotect-vm.sh): start_hostd c runs in it.
NS_3=ftmb-$TAG-h3
IP_3=$NET.3
VM_MAC=02:f7:00:00:00:01
QEMU=${FTMB_QEMU:-$BUILD/qemu-system-x86_64}

# Host-process cleanup, then the namespaces only this topology has.
eval "hostproc_cleanup() $(declare -f cleanup | tail -n +2)"
cleanup() {
	local ns
	for ns in "$NS_T" "$NS_C" "$NS_S" "$NS_3"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	hostproc_cleanup
}

# quiet_ns NS: no IPv6 in NS. Links would otherwise send router
# solicitations and MLD reports that the bridge floods into the
# middlebox as inputs.
quiet_ns() {
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# plain_link NS DEV: no offloads on DEV. A veth hands TSO super-frames and
# frames with unfinished (CHECKSUM_PARTIAL) checksums to the other
# namespace as they are; an af_packet port would copy them so, truncated
# to its frame size or with a wrong TCP checksum.
plain_link() {
	ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 ||
		fail "ethtool cannot turn the offloads of $2 in $1 off"
}

# seg_port NS DEV PORT: a veth from the bridge's port PORT to DEV in
# namespace NS.
seg_port() {
	local ns=$1 dev=$2 port=$3
	ip -n "$NS_T" link add "$port" type veth peer name "$dev" netns "$ns" ||
		fail "cannot create veth $port"
	ip -n "$NS_T" link set "$port" master br0 up
	ip -n "$ns" link set "$dev" up
	plain_link "$NS_T" "$port"
	plain_link "$ns" "$dev"
}

# setup_segment: hosts A and B (with their replication link), namespace T
# with the bridge and the generator's port "gen", the client and the
# server.
setup_segment() {
	local ns
	setup_hosts
	for ns in "$NS_T" "$NS_C" "$NS_S"; do
		ip netns add "$ns" || fail "cannot create namespace $ns"
		ip -n "$ns" link set lo up
	done
	for ns in "$NS_A" "$NS_B" "$NS_T" "$NS_C" "$NS_S"; do
		quiet_ns "$ns"
	done
	ip -n "$NS_T" link add br0 type bridge || fail "cannot create the bridge"
	ip -n "$NS_T" link set br0 up
	seg_port "$NS_A" ext seg-a
	seg_port "$NS_B" ext seg-b
	seg_port "$NS_T" gen seg-g
	seg_port "$NS_C" eth0 seg-cl
	seg_port "$NS_S" eth0 seg-s
}

# setup_third_host: host C (namespace NS_3, address IP_3) with its external
# port "ext" on the segment (bridge port seg-c) and a replication link to
# host B only. Each end routes the other's address through that link with
# its own replication address as the source, so that both see each other
# at the addresses [peers] lists.
setup_third_host() {
	ip netns add "$NS_3" || fail "cannot create namespace $NS_3"
	ip -n "$NS_3" link set lo up
	quiet_ns "$NS_3"
	ip link add "v$TAG-bc" type veth peer name "v$TAG-cb" || fail "cannot create the B-C veth"
	ip link set "v$TAG-bc" netns "$NS_B"
	ip link set "v$TAG-cb" netns "$NS_3"
	ip -n "$NS_3" addr add "$IP_3/32" dev "v$TAG-cb"
	ip -n "$NS_B" link set "v$TAG-bc" up
	ip -n "$NS_3" link set "v$TAG-cb" up
	ip -n "$NS_B" route add "$IP_3/32" dev "v$TAG-bc" src "$IP_B"
	ip -n "$NS_3" route add "$IP_B/32" dev "v$TAG-cb" src "$IP_3"
	seg_port "$NS_3" ext seg-c
}

# fdb_port MAC: the bridge port (seg-a, seg-b, ...) that br0 has learned MAC
# behind, or nothing.
fdb_port() {
	bridge -n "$NS_T" fdb show br br0 | awk -v mac="$1" '$1 == mac && $2 == "dev" { print $3; exit }'
}

# guest_image: the cached guest image with the static middleboxes, and the
# accelerator VMs use here (tools/accel-probe.sh: KVM where a stock guest
# kernel boots under it, TCG otherwise).
guest_image() {
	local image
	image=$(tools/mkimage.sh --bin-dir "$BUILD/guest" 2>"$WORK/mkimage.log") ||
		fail "tools/mkimage.sh failed"
	KERNEL=$(sed -n 's/^kernel //p' <<<"$image")
	INITRD=$(sed -n 's/^initrd //p' <<<"$image")
	ACCEL=$(tools/accel-probe.sh 2>/dev/null) || ACCEL=tcg
	[ "$ACCEL" = kvm ] || ACCEL=tcg,thread=multi
	log "guest image $(dirname "$KERNEL"), accelerator ${ACCEL%%,*}"
}

# ftmb_run ARG...: ftmb-init's ftmb.run= for this command (%XX-encoded).
ftmb_run() {
	local out="" a
	for a in "$@"; do
		a=${a//%/%25}
		a=${a//,/%2C}
		a=${a// /%20}
		a=${a//\"/%22}
		out+=${out:+,}$a
	done
	echo "ftmb.run=$out"
}

# start_vm NAME NS VHOST_SOCK REGION CMD...: boots the guest image (2 vCPUs,
# 256 MiB of shared memfd RAM) in namespace NS with the middlebox command
# CMD, behind ftmb-vhost's
# socket VHOST_SOCK, its shared region REGION on an ivshmem-plain device
# (the size ftmb-vhost gave the file: a power of two, as a PCI BAR must
# be). The guest runs CMD in the background and stops it (SIGINT, so that
# it prints its summary) when a line arrives on the console: vm_stop. The
# console is $WORK/NAME.log.
#   ipv6.disable=1  the guest kernel's own stack would send router
#                   solicitations and MLD reports on eth0: untagged
#                   outputs, which ftmb-vhost rightly treats as a broken
#                   contract. With no IPv4 address either, the stack
#                   answers nothing and silently drops what it receives;
#                   AF_PACKET gets its copy first.
start_vm() {
	local name=$1 ns=$2 sock=$3 region=$4
	shift 4
	local size script
	size=$(stat -c %s "$region") || fail "no region file $region"
	script="$* & pid=\$!; read -r line; kill -INT \$pid; wait \$pid"
	rm -f "$WORK/$name.in"
	mkfifo "$WORK/$name.in"
	sleep 600 >"$WORK/$name.in" &
	PIDS+=($!)
	eval "HOLD_$name=$!"
	ip netns exec "$ns" "$QEMU" -name "$name,debug-threads=on" -accel "$ACCEL" -smp 2 -m 256 -nodefaults \
		-display none -no-reboot -serial stdio \
		-object memory-backend-memfd,id=ram,size=256M,share=on -machine pc,memory-backend=ram \
		-chardev "socket,id=vh,path=$sock" -netdev vhost-user,id=net0,chardev=vh,queues=2 \
		-device "virtio-net-pci,netdev=net0,mq=on,mac=$VM_MAC,romfile=,rx_queue_size=${QSIZE:-1024},tx_queue_size=${QSIZE:-1024}" \
		-object "memory-backend-file,id=shm,size=$size,mem-path=$region,share=on" \
		-device ivshmem-plain,memdev=shm,master=on \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 quiet panic=-1 ipv6.disable=1 $(ftmb_run sh -c "$script")" \
		<"$WORK/$name.in" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
}

# wait_vm NAME PATTERN [SECONDS]: until the console of VM NAME has a line
# matching PATTERN (120 s); fails at once if QEMU exits first.
wait_vm() {
	local pid i
	eval "pid=\${PID_$1:-}"
	for ((i = 0; i < ${3:-120} * 20; i++)); do
		grep -aq -- "$2" "$WORK/$1.log" 2>/dev/null && return 0
		running "$pid" || fail "VM $1 ended before printing '$2'"
		sleep 0.05
	done
	fail "timed out waiting for '$2' on VM $1's console"
}

# vm_stop NAME: asks the guest to stop its middlebox (which prints its
# summary) and waits for the VM to power off.
vm_stop() {
	local hold pid i=0
	eval "hold=\${HOLD_$1:-} pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	echo stop >"$WORK/$1.in"
	while ((i++ < 600)) && running "$pid"; do
		sleep 0.05
	done
	running "$pid" && fail "VM $1 did not power off within 30 s of being asked to stop"
	wait "$pid" 2>/dev/null
	kill "$hold" 2>/dev/null
	eval "PID_$1="
}

# write_vm_hostd_conf NAME THREADS: hosts A and B's configuration for a VM
# instance NAME with primary A and backup B. The replica's ftmb-vhost would
# serve the same MAC from B's port into the segment; a replica VM needs the
# checkpoint restore (not here yet), so no replica_middlebox is set.
write_vm_hostd_conf() {
	local name=$1 threads=$2
	hostd_conf_head 1000 "$name" >"$WORK/hostd.conf"
	cat >>"$WORK/hostd.conf" <<CONF
replica_vhost = $PWD/$BUILD/ftmb-vhost $EAL_BASE -m 512 --lcores=0@(0-1) --file-prefix=ftmb-$TAG-b-vhost -- --instance name=$name,socket=$(vhost_sock "$name" b),region=$(region "$name" b),queues=$threads,port=[net_af_packet0,iface=ext],mac=$VM_MAC,replay=%LOG% --stats $WORK/vhost-b.json
CONF
}

# start_vm_vhost NAME THREADS MODE [KEYS]: ftmb-vhost on host A for a VM,
# its external port af_packet on A's veth into the segment; in mode ftmb
# with host B's ftmb-hostd as the backup.
start_vm_vhost() {
	local name=$1 threads=$2 mode=$3 keys=${4:-} backup=
	[ "$mode" = off ] || backup=",backup=$IP_B:$REPL_PORT"
	start vhost_a "$NS_A" "$BUILD/ftmb-vhost" $EAL_BASE --lcores='0@(0-1)' -m 512 \
		--file-prefix="ftmb-$TAG-a-vhost-$mode" -- \
		--instance "name=$name,socket=$(vhost_sock "$name" a),region=$(region "$name" a),queues=$threads,port=[net_af_packet0,iface=ext],mode=$mode,mac=$VM_MAC$backup$keys" \
		--stats "$WORK/vhost-a.json"
	wait_for "$WORK/vhost_a.log" "serving" 30
	[ "$mode" = off ] || wait_for "$WORK/vhost_a.log" "connected to backup" 30
}

# ---- A checkpointed VM that fails over (failover-vm.sh, failover-vm-tcp.sh)
#
# Host A's ftmb-hostd launches the guest image itself (instance vm1, THREADS
# vCPUs and queue pairs, the guest NIC's MAC $VM_MAC) behind ftmb-vhost
# with cut=pause and checkpoints it every CKPT_MS to host B's ftmb-hostd,
# whose replica_vhost restores it on failover. Both hosts name the same
# paths: the replica's QEMU has the primary's command line. A crash closes
# host A's connections and hostd B sees them end at once; the heartbeat
# timeout (FAILURE_TIMEOUT_MS, 1 s) only guards against a false failure
# while a TCG guest boots on overloaded cores.
VM_RAM=/dev/shm/ftmb-$TAG-ram
VM_REGION=/dev/shm/ftmb-$TAG-region
VM_SOCK=$WORK/vm1.vhost

# vm_vhost_keys: ftmb-vhost's instance on either host.
vm_vhost_keys() {
	echo "name=vm1,socket=$VM_SOCK,region=$VM_REGION,queues=$THREADS,vars=16,port=[net_af_packet0,iface=ext],mac=$VM_MAC,cut=pause"
}

# write_vm_failover_conf APPEND REGION_SIZE: both hosts' configuration; the
# guest's kernel command line ends with APPEND (its ftmb.run=). The
# replica's ftmb-vhost traces to $WORK/replica.trace (keys $REPLICA_KEYS
# added) and writes its statistics to $WORK/vhost-b.json. settle=0: a
# restored guest's driver is running already; it flushes nothing. With
# REPROTECT=1, host C ($IP_3) re-protects the replica.
write_vm_failover_conf() {
	hostd_conf_head 1000 vm1 >"$WORK/hostd.conf"
	cat >>"$WORK/hostd.conf" <<CONF
replica_vhost = $PWD/$BUILD/ftmb-vhost $EAL_BASE -m 512 --lcores=0@(0-1) --file-prefix=ftmb-$TAG-b-vhost -- --instance $(vm_vhost_keys),replay=%LOG%,settle=0,trace=$WORK/replica.trace${REPLICA_KEYS:-}%BACKUP_KEY% --stats $WORK/vhost-b.json
kernel = $KERNEL
initrd = $INITRD
append = console=ttyS0 quiet panic=-1 ipv6.disable=1 $1
qemu = $(readlink -f "$QEMU")
accel = ${ACCEL%%,*}
memory_mb = 256
smp = $THREADS
queues = $THREADS
mac = $VM_MAC
queue_size = ${QSIZE:-1024}
ram_file = $VM_RAM
vhost_socket = $VM_SOCK
region = $VM_REGION
region_size = $2
checkpoint_interval_ms = ${CKPT_MS:-50}
CONF
}

# start_vm_primary APPEND READY: ftmb-vhost on host A (it creates the
# region, whose size the configuration names; tracing to
# $WORK/primary.trace), host B's hostd (its ACK log $WORK/b.acks), then
# host A's, which launches the VM; returns once the guest's console
# ($WORK/state-a/vm1.serial) shows READY.
start_vm_primary() {
	start vhost_a "$NS_A" "$BUILD/ftmb-vhost" $EAL_BASE --lcores='0@(0-1)' -m 512 \
		--file-prefix="ftmb-$TAG-a-vhost" -- \
		--instance "$(vm_vhost_keys),backup=$IP_B:$REPL_PORT,trace=$WORK/primary.trace" \
		--stats "$WORK/vhost-a.json"
	wait_for "$WORK/vhost_a.log" "serving" 30
	write_vm_failover_conf "$1" "$(stat -c %s "$VM_REGION")"
	HOSTD_ARGS="--ack-log $WORK/b.acks" start_hostd b
	wait_for "$WORK/vhost_a.log" "connected to backup" 30
	start_hostd a
	appears "$WORK/state-a/vm1.serial" "$2" 180 ||
		fail "the guest did not print '$2' within 180 s (console: $WORK/state-a/vm1.serial)"
}

# A TCP connection through the NAT VM: the client (namespace C) behind it,
# the server (namespace S) outside, on the segment; the NAT's inside is
# GW_IP, its outside EXT_IP.
CLIENT_MAC=02:f7:00:00:0c:02
SERVER_MAC=02:f7:00:00:05:02
GW_IP=10.77.0.1
CLIENT_IP=10.77.0.2
EXT_IP=203.0.113.1
SERVER_IP=203.0.113.2
PORT=8080

# start_nat_tcp_ends MB: the client's and the server's addresses, a file of
# MB MiB of random bytes in $WORK/www/blob (its SHA-256 in BLOB_SHA256),
# and an HTTP server for it on SERVER_IP:PORT that logs each request's
# peer address and port ($WORK/server.log).
start_nat_tcp_ends() {
	ip -n "$NS_C" link set eth0 address $CLIENT_MAC
	ip -n "$NS_C" addr add $CLIENT_IP/24 dev eth0
	ip -n "$NS_C" route add default via $GW_IP
	ip -n "$NS_S" link set eth0 address $SERVER_MAC
	ip -n "$NS_S" addr add $SERVER_IP/24 dev eth0
	mkdir -p "$WORK/www"
	head -c "${1}M" /dev/urandom >"$WORK/www/blob"
	BLOB_SHA256=$(sha256sum <"$WORK/www/blob" | cut -d' ' -f1)
	start server "$NS_S" python3 -u -c '
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def address_string(self):
        return "%s:%d" % self.client_address
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])),
    functools.partial(Handler, directory=sys.argv[3])).serve_forever()
' $SERVER_IP $PORT "$WORK/www"
	local i
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS_S" ss -Hltn "sport = :$PORT" | grep -q . && return 0
		sleep 0.1
	done
	fail "the HTTP server did not listen on $SERVER_IP:$PORT within 10 s"
}

# vm_mb_command MB: the guest's ftmb.run= for the monitor or the NAT with
# $THREADS threads on its kernel NIC; the NAT sends its translations to the
# generator's MAC.
vm_mb_command() {
	local gen_mac
	if [ "$1" = monitor ]; then
		ftmb_run ftmb-monitor --threads "$THREADS" --io afpacket:eth0
	else
		gen_mac=$(ip netns exec "$NS_T" cat /sys/class/net/gen/address)
		# --idle-ms: a TCG guest can stall for seconds; a flow keeps its port.
		ftmb_run ftmb-nat --threads "$THREADS" --io afpacket:eth0 --external-ip 192.0.2.1 \
			--next-hop-mac "$gen_mac" --idle-ms 600000
	fi
}

# start_vm_traffic SECONDS: the generator and sink on the segment, in the
# background: FLOWS flows at RATE packets of SIZE bytes to the VM's MAC once
# $WORK/go appears, recording what comes back in $WORK/gen.rec.
start_vm_traffic() {
	rm -f "$WORK/go"
	ip netns exec "$NS_T" "$BUILD/ftmb-traffic" $EAL_BASE --file-prefix="ftmb-$TAG-gen" -- \
		--dev net_af_packet0,iface=gen --dst-mac "$VM_MAC" --flows "$FLOWS" --rate "$RATE" \
		--duration "$1" --size "$SIZE" --stop-after-idle 4000 --go-file "$WORK/go" \
		--record "$WORK/gen.rec" --json --quiet >"$WORK/gen.json" 2>"$WORK/gen.log" &
	PIDS+=($!)
	PID_gen=$!
	sleep 1 # the generator's link, and past ftmb-vhost's settle time
}

# kill_host_a: every process of host A's namespace (hostd, ftmb-vhost,
# QEMU) gets SIGKILL at once; the moment goes to $WORK/kill (kill_host.py).
kill_host_a() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/../hostproc/kill_host.py" "$NS_A" "$WORK/kill" ||
		fail "cannot kill host A"
}

# after_failover [H]: waits for the replica on host H (b) to go live (120
# s), then saves hostd H's status in $WORK/status-H.json.
after_failover() {
	local h=${1:-b}
	appears "$WORK/state-$h/vm1.vhost.log" "replica live" 120 ||
		log "no replica went live on host $h within 120 s of the failure"
	"$BUILD/ftmbctl" -s "$WORK/hostd-$h.sock" --json status >"$WORK/status-$h.json" ||
		fail "no status from hostd $h"
}

# stop_vm_replica [H]: SIGTERM to the replica ftmb-vhost on host H (b; it
# writes its statistics and closes its trace) and to the replica's QEMU.
stop_vm_replica() {
	local pids p i
	pids=$(json "$WORK/status-${1:-b}.json" "' '.join(str(p) for i in j['instances'] for p in [r['pid'] for r in ((i.get('failover') or {}).get('replicas') or [])] + [((i.get('failover') or {}).get('restore') or {}).get('qemu_pid') or ''] if p)")
	for p in $pids; do
		kill "$p" 2>/dev/null
		for ((i = 0; i < 200; i++)); do
			running "$p" || break
			sleep 0.05
		done
	done
}

# teardown_segment: every namespace and file of a run; $WORK stays.
teardown_segment() {
	local ns
	for ns in "$NS_T" "$NS_C" "$NS_S" "$NS_3"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	teardown_hosts
	rm -f "$VM_RAM" "$VM_REGION" "$VM_SOCK"
}
