# SPDX-License-Identifier: GPL-2.0-or-later
# lab_run SCRIPT.py ARGS...: runs a vmlab.py test with what `make check`
# built: the patched QEMU ($BUILD/qemu-system-x86_64) and the guest image
# (tools/mkimage.sh, cached), from the top of the tree. Sourced.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}

lab_run() {
	local script=$1 image
	shift
	image=$(tools/mkimage.sh --bin-dir "$BUILD/guest" 2>/dev/null)
	exec python3 "tests/ckpt/$script" --build "$BUILD" \
		--qemu "$(readlink -f "$BUILD/qemu-system-x86_64")" \
		--kernel "$(sed -n 's/^kernel //p' <<<"$image")" \
		--initrd "$(sed -n 's/^initrd //p' <<<"$image")" "$@"
}
