#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest of the checkpoint round trip: Debian's kernel and an initramfs
# whose /init is ckpt-counter (a static program given as $1). A stand-in
# until tools/mkimage.sh (the project's guest image builder) is on main;
# when it is, its image is used instead. Prints three lines:
#   kernel PATH
#   initrd PATH
#   append KERNEL-ARGS
set -euo pipefail

counter=${1:?usage: mkguest.sh CKPT-COUNTER-BINARY}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FTMB_CACHE:-/var/cache/ftmb}

say() { echo "mkguest: $*" >&2; }
die() { echo "mkguest: error: $*" >&2; exit 1; }

if [ -x "$top/tools/mkimage.sh" ]; then
	bindir=$(mktemp -d)
	trap 'rm -rf "$bindir"' EXIT
	cp "$counter" "$bindir/ckpt-counter"
	"$top/tools/mkimage.sh" --bin-dir "$bindir"
	echo "append console=ttyS0 quiet panic=-1 ftmb.run=ckpt-counter"
	exit 0
fi

kpkg=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
	sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-amd64\).*/\1/p' | head -1)
[ -n "$kpkg" ] || die "apt knows no linux-image-amd64 (run apt-get update)"
kver=${kpkg#linux-image-}
dir=$cache/qemu-test-guest-$kver
mkdir -p "$dir"

if [ ! -f "$dir/vmlinuz" ]; then
	say "downloading $kpkg"
	tmp=$(mktemp -d "$dir/dl.XXXX")
	chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download -q "$kpkg" >/dev/null)
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -O "./boot/vmlinuz-$kver" >"$tmp/vmlinuz"
	mv "$tmp/vmlinuz" "$dir/vmlinuz"
	rm -rf "$tmp"
fi

key=$(sha256sum "$counter" | cut -c1-16)
if [ ! -f "$dir/initrd-$key.cpio" ]; then
	root=$(mktemp -d)
	mkdir -p "$root/dev"
	mknod "$root/dev/console" c 5 1
	install -m 755 "$counter" "$root/init"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$dir/initrd-$key.cpio"
	rm -rf "$root"
fi
echo "kernel $dir/vmlinuz"
echo "initrd $dir/initrd-$key.cpio"
echo "append console=ttyS0 quiet panic=-1"
