#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The checkpoint round trip through patched QEMU under TCG (roundtrip.py).
# Needs $BUILD/qemu-system-x86_64 (the patched QEMU, see tests/qemu/rules.mk;
# FTMB_QEMU=PATH uses another binary), ftmb-ckpt and the guest program
# ckpt-counter, all built by `make check`; builds its guest image with
# tools/mkimage.sh (cached).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}

qemu=${FTMB_QEMU:-$BUILD/qemu-system-x86_64}
bindir=$(mktemp -d)
trap 'rm -rf "$bindir"' EXIT
cp "$BUILD/tests/qemu/ckpt-counter" "$bindir/"
image=$(tools/mkimage.sh --bin-dir "$bindir" 2>/dev/null)
field() { sed -n "s/^$1 //p" <<<"$image"; }

python3 tests/qemu/roundtrip.py --qemu "$qemu" --ckpt "$BUILD/ftmb-ckpt" \
	--kernel "$(field kernel)" --initrd "$(field initrd)" \
	--append "console=ttyS0 quiet panic=-1 ftmb.run=ckpt-counter" "$@"
