#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Tests the guest image (tools/mkimage.sh) by booting it under TCG:
#   cache    an unchanged image is reused, a changed guest program gives a new
#            one, a dynamically linked guest program is refused
#   plain    no NIC: hello counts, finds /dev/shm, its --nic check fails
#            without a NIC (negative control), its exit status 42 reaches the
#            console through ftmb-init, and the VM powers off by itself
#   ivshmem  ivshmem-poke finds 1af4:1110, maps BAR 2 and writes a pattern
#            that the host then finds in the /dev/shm backing file
#   net      virtio-net on a 2-queue tap (mq=on,vectors=0): eth0 is up with
#            2 rx and 2 tx queues
#   shell    ftmb.shell=1 gives busybox sh on the console, with the console's
#            tty as its controlling terminal, and powers off when it exits
#   accel    tools/accel-probe.sh answers kvm or tcg, then from its cache
# Prints each boot's time to init's first line and to "ftmb-init: ready", and
# the image size.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
progs=$BUILD/tests/image/guest
tag=ftmb-image-$$
tmp=$(mktemp -d)
shm=/dev/shm/$tag
netns=$tag
extra_image=""
failures=0

cleanup() {
	rm -rf "$tmp" "$shm"
	ip netns del "$netns" 2>/dev/null || true
	[ -z "$extra_image" ] || rm -rf "$extra_image"
}
trap cleanup EXIT

pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect LOG LINE: LOG has a line that is exactly LINE.
expect() {
	if grep -Fxq -- "$2" "$1"; then pass "\"$2\""; else fail "no line \"$2\" in $(basename "$1")"; fi
}

# ftmb_run ARG...: the ftmb.run= parameter for this command, %-encoding what
# ftmb-init would otherwise split on or the kernel would misread.
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

# boot NAME APPEND [QEMU ARG...]: boots the image under TCG with APPEND on
# the kernel command line, QEMU run through "${wrap[@]}" (empty, or a netns)
# with its stdin (the console's input) from $stdin; the console goes to
# $tmp/NAME.log. Prints the host time from exec to
# "ftmb-init: ready" and the guest's uptime then.
wrap=()
stdin=/dev/null
boot() {
	local name=$1 append=$2 log=$tmp/$1.log start rc
	shift 2
	start=$(date +%s%N)
	set +e
	"${wrap[@]}" timeout --kill-after=5 120 qemu-system-x86_64 -accel tcg,thread=multi -m 256 \
		-nographic -no-reboot -kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 $append" "$@" <"$stdin" 2>&1 |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case "$line" in "ftmb-init: starting" | "ftmb-init: ready"*)
				echo "$(( ($(date +%s%N) - start) / 1000000 ))" >>"$log.ms" ;;
			esac
			printf '%s\n' "$line"
		done >"$log"
	rc=${PIPESTATUS[0]}
	set -e
	sed 's/^/    | /' "$log"
	if [ "$rc" = 0 ]; then pass "$name: QEMU exited by itself after the guest powered off"; else fail "$name: QEMU exit status $rc (124: timed out)"; fi
	if [ "$(grep -c . "$log.ms" 2>/dev/null)" = 2 ]; then
		echo "$name: host time from exec to init's first line $(sed -n 1p "$log.ms") ms, to ready $(sed -n 2p "$log.ms") ms (guest uptime $(sed -n 's/^ftmb-init: ready (uptime \(.*\))$/\1/p' "$log"))"
	else
		fail "$name: never printed \"ftmb-init: starting\" and \"ftmb-init: ready\""
	fi
}

# mkimage ARG...: runs tools/mkimage.sh, showing its progress (also kept in
# $tmp/mkimage.err) on stderr, and returns its status.
mkimage() {
	local rc=0
	tools/mkimage.sh "$@" 2>"$tmp/mkimage.err" || rc=$?
	sed 's/^/    | /' "$tmp/mkimage.err" >&2
	return $rc
}

echo "== build the image (make check built the test programs)"
image=$(mkimage --bin-dir "$progs")
kernel=$(sed -n 's/^kernel //p' <<<"$image")
initrd=$(sed -n 's/^initrd //p' <<<"$image")
echo "image: vmlinux $(stat -c %s "$kernel") bytes, initrd.img $(stat -c %s "$initrd") bytes"

echo "== cache"
again=$(mkimage --bin-dir "$progs")
if [ "$again" = "$image" ] && grep -q 'inputs unchanged: reusing' "$tmp/mkimage.err"; then
	pass "an unchanged image is reused"
else
	fail "the second run did not reuse $kernel"
fi
for input in kernel busybox cc init mkimage "guest hello" "guest ivshmem-poke"; do
	grep -q "^$input " "$(dirname "$kernel")/manifest" || fail "the cache key misses input \"$input\""
done
mkdir "$tmp/changed"
cp "$progs"/* "$tmp/changed/"
echo "$tag" >>"$tmp/changed/hello"
changed=$(mkimage --bin-dir "$tmp/changed")
extra_image=$(dirname "$(sed -n 's/^kernel //p' <<<"$changed")")
if [ "$changed" != "$image" ] && grep -q 'building image' "$tmp/mkimage.err"; then
	pass "a changed guest program gives a new image"
else
	fail "a changed guest program did not rebuild the image"
fi
mkdir "$tmp/dynamic"
cp /bin/true "$tmp/dynamic/"
if ! mkimage --bin-dir "$tmp/dynamic" >/dev/null && grep -q 'dynamically linked' "$tmp/mkimage.err"; then
	pass "a dynamically linked guest program is refused"
else
	fail "a dynamically linked guest program was accepted"
fi

echo "== plain boot, no NIC"
boot plain "$(ftmb_run sh -c 'hello --nic; echo "nic check without a NIC: $?"; exec hello --count 5 --exit 42')" -smp 1 -net none
log=$tmp/plain.log
expect "$log" "ftmb-init: starting"
expect "$log" "ftmb-init: loaded 8 modules"
expect "$log" "ftmb-init: no eth0 (no virtio-net device attached)"
expect "$log" "hello: error: no eth0: No such file or directory"
expect "$log" "nic check without a NIC: 1"
expect "$log" "hello: 5"
expect "$log" "hello: /dev/shm is a tmpfs"
expect "$log" "ftmb-init: sh: exit status 42"
expect "$log" "ftmb-init: powering off"

echo "== shell"
# The serial port drops what arrives before the shell opens it, so type only
# once the shell has greeted.
mkfifo "$tmp/shell.in"
{
	until grep -q "^Enter 'help'" "$tmp/shell.log" 2>/dev/null; do sleep 0.2; done
	sleep 0.5
	printf 'echo "shell says $((6 * 7))"; tty; exit 7\n'
	exec sleep 60 # holds the console open until QEMU is gone
} >"$tmp/shell.in" &
typist=$!
stdin=$tmp/shell.in
boot shell "ftmb.shell=1" -smp 1 -net none
stdin=/dev/null
kill "$typist" 2>/dev/null || true
log=$tmp/shell.log
expect "$log" "shell says 42"
expect "$log" "/dev/ttyS0"
expect "$log" "ftmb-init: sh: exit status 7"

echo "== ivshmem-plain"
nonce=$(( (RANDOM << 15 | RANDOM) + 1 ))
check_shm() {
	python3 - "$shm" "$nonce" <<'EOF'
import struct, sys
path, nonce = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
errors = []
guest = b"GUEST %d\0" % nonce
if data[256:256 + len(guest)] != guest:
    errors.append("no %r at offset 256" % guest)
words = struct.unpack_from("<16384I", data, 4096)
bad = [i for i, w in enumerate(words) if w != ((i * 2654435761) ^ nonce) & 0xffffffff]
if bad:
    errors.append("%d pattern words differ, first at word %d" % (len(bad), bad[0]))
if struct.unpack_from("<I", data, len(data) - 4)[0] != nonce & 0xffffffff:
    errors.append("no nonce in the last 4 bytes")
print("; ".join(errors) or "pattern found")
sys.exit(1 if errors else 0)
EOF
}
truncate -s 1M "$shm"
printf 'HOST %s\0' "$nonce" | dd of="$shm" conv=notrunc status=none
if check_shm >/dev/null; then fail "the host check passes before the guest wrote"; else pass "the host check fails before the guest wrote"; fi
boot ivshmem "$(ftmb_run ivshmem-poke "$nonce")" -smp 1 -net none \
	-object "memory-backend-file,id=shm0,mem-path=$shm,size=1M,share=on" \
	-device ivshmem-plain,memdev=shm0,master=on
log=$tmp/ivshmem.log
expect "$log" "ivshmem-poke: read \"HOST $nonce\""
expect "$log" "ivshmem-poke: wrote the pattern"
expect "$log" "ftmb-init: ivshmem-poke: exit status 0"
if msg=$(check_shm); then pass "host: $msg in $shm"; else fail "host: $msg"; fi

echo "== virtio-net, 2 queues"
ip netns add "$netns"
wrap=(ip netns exec "$netns")
boot net "$(ftmb_run sh -c 'hello --queues 3; echo "queue check for 3: $?"; exec hello --nic --queues 2')" \
	-smp 2 -netdev tap,id=n0,ifname=ftmbimg0,script=no,downscript=no,queues=2 \
	-device virtio-net-pci,netdev=n0,mq=on,vectors=0,romfile=
log=$tmp/net.log
expect "$log" "ftmb-init: eth0 up"
expect "$log" "hello: error: expected 3 rx and 3 tx queues"
expect "$log" "queue check for 3: 1"
expect "$log" "hello: eth0 is up"
expect "$log" "hello: eth0 has 2 rx and 2 tx queues"
expect "$log" "ftmb-init: sh: exit status 0"

echo "== accelerator probe"
first=$(tools/accel-probe.sh 2>"$tmp/probe.err") || true
sed 's/^/    | /' "$tmp/probe.err"
t0=$(date +%s%N)
second=$(tools/accel-probe.sh 2>/dev/null) || true
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
case "$first" in kvm | tcg) pass "accel-probe says $first" ;; *) fail "accel-probe said \"$first\"" ;; esac
if [ "$second" = "$first" ] && [ "$ms" -lt 1000 ]; then pass "accel-probe answered again from its cache in $ms ms"; else fail "accel-probe's second answer \"$second\" took $ms ms"; fi

if [ "$failures" = 0 ]; then echo "image tests: all passed"; else echo "image tests: $failures failed"; fi
[ "$failures" = 0 ]
