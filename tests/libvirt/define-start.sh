#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# hostd/examples/protected-nat.xml through a real libvirt: a private
# virtlogd + libvirtd (no systemd), a vhost-user backend on the domain's
# socket, the example defined with this run's paths and started under TCG;
# the guest must boot to ftmb-nat with 2 threads, and libvirt_domains.c
# (list-protected) must find it with the settings of its <ftmb:protection>,
# skip an unprotected domain and report one whose metadata is wrong. Then
# everything is destroyed, undefined and stopped.
#
# The daemons run in their own mount namespace, over private copies of
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt, so that they neither see nor disturb a system libvirt.
# The vhost-user backend is dpdk-testpmd in interactive mode: it serves the
# socket without polling (no forwarding is started).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-90}

QEMU=$(readlink -f "${FTMB_QEMU:-$BUILD/qemu-system-x86_64}")
LIST=$(readlink -f "$BUILD/tests/libvirt/list-protected")
MKREGION=$BUILD/tests/traffic/mkregion
for f in "$QEMU" "$LIST" "$MKREGION" "$BUILD/guest/ftmb-nat"; do
	[ -x "$f" ] || { echo "FAIL: $f is not built (make check builds it)"; exit 1; }
done
for p in virtlogd libvirtd virsh dpdk-testpmd unshare nsenter; do
	command -v "$p" >/dev/null || { echo "FAIL: no $p (tools/setup-deps.sh installs it)"; exit 1; }
done
id libvirt-qemu >/dev/null 2>&1 || { echo "FAIL: no libvirt-qemu user (libvirt-daemon-system)"; exit 1; }

NAME=ftmb-ctl-$$
SHM=/dev/shm/$NAME
DIR=$(mktemp -d /tmp/ftmb-ctl-libvirt.XXXXXX)
chmod 755 "$DIR" # QEMU runs as libvirt-qemu: it opens the socket and boot files here
LV=$DIR/libvirt
TESTPMD_PID=
NS_PID=

say() { echo "define-start: $*"; }
elapsed() { echo "$(( ($(date +%s%N) - $1) / 1000000 )) ms"; }

virsh_() { nsenter --mount --target "$NS_PID" virsh -q -c qemu:///system "$@"; }

cleanup() {
	if [ -n "$NS_PID" ]; then
		for d in "$NAME" "$NAME-plain" "$NAME-bad"; do
			virsh_ destroy "$d" >/dev/null 2>&1 || true
			virsh_ undefine "$d" >/dev/null 2>&1 || true
		done
	fi
	for pidfile in "$LV/libvirtd.pid" "$LV/virtlogd.pid"; do
		if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
	done
	if [ -n "$TESTPMD_PID" ]; then
		echo quit >&3 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$TESTPMD_PID" 2>/dev/null || break; sleep 0.1; done
		kill "$TESTPMD_PID" 2>/dev/null || true
	fi
	for pidfile in "$LV/libvirtd.pid" "$LV/virtlogd.pid"; do
		[ -f "$pidfile" ] || continue
		for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
	done
	rm -rf "$DIR" "$SHM" "/run/dpdk/$NAME"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for log in "$DIR/console.log" "$DIR/testpmd.log" "$LV/log/libvirtd.log" \
		"$LV/log/qemu/$NAME.log"; do
		[ -f "$log" ] || continue
		echo "--- $log:"
		tail -n 20 "$log"
	done
	exit 1
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

t0=$(date +%s%N)

# --- the guest image, copied: libvirt chowns boot files while the VM runs ---
image=$(tools/mkimage.sh --bin-dir "$BUILD/guest" 2>"$DIR/mkimage.log") ||
	fail "tools/mkimage.sh: $(tail -3 "$DIR/mkimage.log")"
cp "$(sed -n 's/^kernel //p' <<<"$image")" "$DIR/vmlinux"
cp "$(sed -n 's/^initrd //p' <<<"$image")" "$DIR/initrd.img"

# --- the shared region, as ftmb-vhost would make it (mode off, 2 threads) ---
# libvirt wants at least 1 MiB of shmem; the region's header says its size.
"$MKREGION" "$SHM" 2
truncate -s 1M "$SHM"
chown libvirt-qemu:kvm "$SHM"

# --- the vhost-user backend: testpmd, interactive, 2 queue pairs -------------
mkfifo "$DIR/testpmd.in"
exec 3<>"$DIR/testpmd.in"
dpdk-testpmd -l 0,1 --no-huge -m 256 --no-pci --file-prefix="$NAME" \
	--vdev "net_vhost0,iface=$DIR/vhost.sock,queues=2" -- \
	-i --nb-cores=1 --rxq=2 --txq=2 --total-num-mbufs=2048 \
	<"$DIR/testpmd.in" >"$DIR/testpmd.log" 2>&1 &
TESTPMD_PID=$!
wait_for 20 test -S "$DIR/vhost.sock" || fail "testpmd did not open $DIR/vhost.sock"
chown libvirt-qemu:kvm "$DIR/vhost.sock"

# --- private virtlogd + libvirtd --------------------------------------------
mkdir -p "$LV"/{etc,run,lib,log,cache} /run/libvirt
cp /etc/libvirt/*.conf "$LV/etc/" # settings only: no system domains or networks
# shellcheck disable=SC2016 # expanded by the inner bash
unshare --mount --propagation private -- bash -euc '
	lv=$1
	mount --bind "$lv/etc" /etc/libvirt
	mount --bind "$lv/run" /run/libvirt
	mount --bind "$lv/lib" /var/lib/libvirt
	mount --bind "$lv/log" /var/log/libvirt
	mount --bind "$lv/cache" /var/cache/libvirt
	virtlogd -d -p "$lv/virtlogd.pid"
	libvirtd -d -p "$lv/libvirtd.pid"
' private-libvirt "$LV"
wait_for 10 test -S "$LV/run/libvirt-sock" || fail "libvirtd did not open its socket"
NS_PID=$(cat "$LV/libvirtd.pid")
say "private virtlogd + libvirtd up ($(elapsed "$t0") since start)"

# --- the example, with this run's paths ---------------------------------------
subst() { # FILE FROM TO: replaces every FROM, which must occur
	grep -qF -- "$2" "$1" || fail "$1 has no '$2'"
	sed -i "s|$2|$3|g" "$1"
}
dom=$DIR/domain.xml
cp hostd/examples/protected-nat.xml "$dom"
subst "$dom" "<name>ftmb-nat1</name>" "<name>$NAME</name>"
subst "$dom" "/var/lib/ftmb/image/" "$DIR/"
subst "$dom" "/usr/local/lib/ftmb/qemu-system-x86_64" "$QEMU"
subst "$dom" "/run/ftmb/ftmb-nat1.vhost.sock" "$DIR/vhost.sock"
subst "$dom" "<shmem name='ftmb-nat1'" "<shmem name='$NAME'"
subst "$dom" "/var/log/ftmb/ftmb-nat1.console.log" "$DIR/console.log"

t=$(date +%s%N)
virsh_ define --validate "$dom" >/dev/null || fail "virsh define --validate refused the example"
say "defined $NAME from hostd/examples/protected-nat.xml in $(elapsed "$t") (schema-validated)"

# Two more, defined only: one without ftmb metadata, one whose metadata is wrong.
sed -e "s|<name>$NAME</name>|<name>$NAME-plain</name>|" -e '/<ftmb:protection/,/\/>/d' \
	"$dom" >"$DIR/plain.xml"
sed -e "s|<name>$NAME</name>|<name>$NAME-bad</name>|" -e "s|policy='degrade'|policy='maybe'|" \
	"$dom" >"$DIR/bad.xml"
virsh_ define "$DIR/plain.xml" >/dev/null || fail "cannot define $NAME-plain"
virsh_ define "$DIR/bad.xml" >/dev/null || fail "cannot define $NAME-bad"

t=$(date +%s%N)
virsh_ start "$NAME" >/dev/null || fail "virsh start $NAME failed"
say "started $NAME in $(elapsed "$t")"
booted() { grep -q "ftmb-nat: running 2 threads" "$DIR/console.log" 2>/dev/null; }
wait_for "$BOOT_TIMEOUT" booted || fail "the guest did not reach ftmb-nat in ${BOOT_TIMEOUT}s"
say "guest console: $(grep -m1 'ftmb-init: ready' "$DIR/console.log")"
say "guest console: $(grep -m1 'ftmb-nat: running' "$DIR/console.log")"
say "start to middlebox running: $(elapsed "$t")"

# Both queue pairs of the vhost-user device came up (vring 3 is the 2nd pair's TX).
grep -q "set queue enable: 1 to qp idx: 3" "$DIR/testpmd.log" ||
	fail "testpmd never saw the second queue pair enabled"
say "vhost-user: the guest enabled both queue pairs on $DIR/vhost.sock"
args=$(tr '\0' ' ' <"/proc/$(cat "$LV/run/qemu/$NAME.pid")/cmdline")
grep -q '"driver":"ivshmem-plain".*"master":"on"' <<<"$args" ||
	fail "QEMU's ivshmem-plain device is not master=on: $args"
grep -q '"memory-backend-memfd","id":"pc.ram","share":true' <<<"$args" ||
	fail "QEMU's guest RAM is not a shared memfd: $args"
say "QEMU: guest RAM on a shared memfd, ivshmem-plain with master=on"

# --- discovery through libvirt_domains.c ----------------------------------------
nsenter --mount --target "$NS_PID" "$LIST" >"$DIR/listing.json" || fail "list-protected failed"
python3 - "$NAME" "$DIR" <<'PY' || fail "list-protected found the wrong things: $(cat "$DIR/listing.json")"
import json, sys
name, d = sys.argv[1], sys.argv[2]
doms = {x["name"]: x for x in json.load(open(f"{d}/listing.json"))["domains"]}
assert set(doms) == {name, name + "-bad"}, f"protected domains: {sorted(doms)}"
x = doms[name]
want = {"running": True, "error": None, "backup": "hostB", "interval_ms": 50,
        "policy": "degrade", "threads": 2, "vhost_socket": f"{d}/vhost.sock",
        "vhost_queues": 2, "shmem_name": name, "shmem_path": f"/dev/shm/{name}",
        "shmem_size": 1 << 20, "kernel": f"{d}/vmlinux", "initrd": f"{d}/initrd.img"}
for k, v in want.items():
    assert x[k] == v, f"{k}: {x[k]!r}, want {v!r}"
assert "ftmb.run=ftmb-nat,--threads,2" in x["cmdline"], x["cmdline"]
bad = doms[name + "-bad"]
assert not bad["running"] and 'policy="maybe"' in (bad["error"] or ""), bad
print(f"define-start: list-protected: {name}: running, backup {x['backup']}, "
      f"interval {x['interval_ms']} ms, policy {x['policy']}, {x['threads']} threads, "
      f"vhost {x['vhost_socket']} ({x['vhost_queues']} queues), shmem {x['shmem_path']} "
      f"({x['shmem_size']} bytes)")
print(f"define-start: list-protected: {name}-bad reported: {bad['error']}")
print(f"define-start: list-protected: {name}-plain (no ftmb metadata) not listed")
PY

# --- tear down ------------------------------------------------------------------
t=$(date +%s%N)
virsh_ destroy "$NAME" >/dev/null || fail "virsh destroy failed"
for d in "$NAME" "$NAME-plain" "$NAME-bad"; do
	virsh_ undefine "$d" >/dev/null || fail "virsh undefine $d failed"
done
left=$(nsenter --mount --target "$NS_PID" "$LIST")
[ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["domains"]))' <<<"$left")" = 0 ] ||
	fail "domains left after undefine: $left"
say "destroyed and undefined in $(elapsed "$t")"
say "OK in $(elapsed "$t0")"
