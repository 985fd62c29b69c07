#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Prints the QEMU accelerator that guest VMs should use here: "kvm" when the
# guest image boots under -accel kvm, "tcg" otherwise.
#
# Having /dev/kvm is not enough: on a host whose /dev/kvm is a software
# nested hypervisor (kvm_pvm) a stock kernel never reaches init. So the probe
# boots the guest image under KVM and waits, at most FTMB_PROBE_TIMEOUT
# seconds (default 15; a real KVM boots it in about a second), for
# ftmb-init's first line. The answer is cached until the host reboots.
#
#   tools/accel-probe.sh [--again]    --again ignores the cached answer
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${FTMB_CACHE:-/var/cache/ftmb}
timeout_s=${FTMB_PROBE_TIMEOUT:-15}
again=0

case "${1:-}" in
--again) again=1 ;;
"") ;;
*) echo "usage: tools/accel-probe.sh [--again]" >&2; exit 2 ;;
esac

say() { echo "accel-probe: $*" >&2; }

boot_id=$(cat /proc/sys/kernel/random/boot_id)
answer_file=$cache/accel-probe

if [ "$again" = 0 ] && [ -f "$answer_file" ]; then
	read -r cached_boot cached_answer <"$answer_file" || true
	if [ "${cached_boot:-}" = "$boot_id" ] && [ -n "${cached_answer:-}" ]; then
		echo "$cached_answer"
		exit 0
	fi
fi

probe() {
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		say "no usable /dev/kvm"
		echo tcg
		return
	fi
	local image kernel initrd log
	image=$("$here/mkimage.sh")
	kernel=$(sed -n 's/^kernel //p' <<<"$image")
	initrd=$(sed -n 's/^initrd //p' <<<"$image")
	log=$(mktemp)
	say "booting the guest image under KVM (up to ${timeout_s} s)"
	# QEMU exits by itself once the guest's init powers off; a guest that
	# does not boot is killed at the timeout.
	timeout --kill-after=2 "$timeout_s" qemu-system-x86_64 -accel kvm -m 256 -nographic \
		-no-reboot -net none -kernel "$kernel" -initrd "$initrd" \
		-append 'console=ttyS0 quiet panic=-1' </dev/null >"$log" 2>&1 || true
	if grep -q 'ftmb-init: starting' "$log"; then
		echo kvm
	else
		say "the guest did not reach init under KVM: $(tr -d '\r' <"$log" | grep -v '^$' | tail -1)"
		echo tcg
	fi
	rm -f "$log"
}

answer=$(probe)
mkdir -p "$cache"
echo "$boot_id $answer" >"$answer_file.tmp"
mv "$answer_file.tmp" "$answer_file"
say "$answer (cached until reboot in $answer_file)"
echo "$answer"
