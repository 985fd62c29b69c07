#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Planned failover of a VM under TCG (check_handover.py says what is checked).
# Needs what `make check` builds: the patched QEMU ($BUILD/qemu-system-x86_64),
# ftmb-hostd, ftmb-vhost, ftmb-traffic and the guest programs; builds the
# guest image with tools/mkimage.sh (cached). About a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}

image=$(tools/mkimage.sh --bin-dir "$BUILD/guest" 2>/dev/null)
field() { sed -n "s/^$1 //p" <<<"$image"; }

exec python3 tests/ckpt/check_handover.py --build "$BUILD" --qemu "$(readlink -f "$BUILD/qemu-system-x86_64")" \
	--kernel "$(field kernel)" --initrd "$(field initrd)" "$@"
