#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The checkpoint round trip through patched QEMU under TCG (roundtrip.py).
# Builds what it needs: the patched QEMU (qemu-patches/build.sh, cached;
# FTMB_QEMU=PATH uses another binary), ftmb-ckpt, the guest program and the
# guest image.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}

qemu=${FTMB_QEMU:-$(qemu-patches/build.sh | tail -1)}
make -s --no-print-directory "$BUILD/ftmb-ckpt" "$BUILD/tests/qemu/ckpt-counter"
guest=$(tests/qemu/mkguest.sh "$BUILD/tests/qemu/ckpt-counter")
field() { sed -n "s/^$1 //p" <<<"$guest"; }

exec python3 tests/qemu/roundtrip.py --qemu "$qemu" --ckpt "$BUILD/ftmb-ckpt" \
	--kernel "$(field kernel)" --initrd "$(field initrd)" --append "$(field append)" "$@"
