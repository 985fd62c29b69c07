#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the ftmb guest image: an uncompressed vmlinux (booted through its PVH
# entry, twice as fast as the bzImage under TCG) and an initramfs holding
# busybox, the virtio-net modules, ftmb-init (tools/guest-init/init.c) and the
# static guest programs (the example middleboxes) in /usr/bin.
#
# The image is cached in $CACHE/image-KEY/ where KEY hashes every input: the
# kernel package and version, busybox, the C compiler, init.c, this script and
# the guest programs. An unchanged image is reused; any changed input gives a
# new one. The last lines on stdout name the files:
#   kernel /var/cache/ftmb/image-KEY/vmlinux
#   initrd /var/cache/ftmb/image-KEY/initrd.img
set -euo pipefail

usage() {
	cat <<EOF
usage: tools/mkimage.sh [--out DIR] [--bin-dir DIR]... [--cache DIR] [--json]

  --out DIR      also link DIR/vmlinux and DIR/initrd.img to the cached image
  --bin-dir DIR  copy the programs in DIR into the image's /usr/bin
                 (repeatable; default \$BUILD/guest, BUILD defaulting to build)
  --cache DIR    cache root (default \$FTMB_CACHE or /var/cache/ftmb)
  --json         print the result as one JSON object instead of two lines

Boot the result with, for example:
  qemu-system-x86_64 -accel tcg,thread=multi -m 256 -nographic -no-reboot \\
    -kernel VMLINUX -initrd INITRD \\
    -append 'console=ttyS0 quiet panic=-1 ftmb.run=PROG,ARG,...'
EOF
}

# Loaded by ftmb-init in this order (each needs the ones before it).
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
failover net_failover virtio_net"
# Images kept in the cache; older ones are removed after a build.
KEEP_IMAGES=8

here=$(cd "$(dirname "$0")" && pwd)
cache=${FTMB_CACHE:-/var/cache/ftmb}
out=""
json=0
bin_dirs=()

say() { echo "mkimage: $*" >&2; }
die() { echo "mkimage: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--bin-dir) bin_dirs+=("${2:?--bin-dir needs a directory}"); shift 2 ;;
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	--json) json=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ ${#bin_dirs[@]} -gt 0 ] || bin_dirs=("${BUILD:-build}/guest")

# --- inputs -----------------------------------------------------------------

# Prints "PACKAGE VERSION" of the kernel that linux-image-amd64 points at.
kernel_package() {
	apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-amd64\) (= \([^)]*\)).*/\1 \2/p' |
		head -1
}

# Lists the guest programs as "NAME PATH", failing on a dynamically linked
# ELF (the image has no shared libraries) or a name given twice.
guest_programs() {
	local dir f name
	declare -A seen=()
	for dir in "${bin_dirs[@]}"; do
		[ -d "$dir" ] || continue
		for f in "$dir"/*; do
			[ -f "$f" ] && [ -x "$f" ] || continue
			name=$(basename "$f")
			[ -z "${seen[$name]:-}" ] || die "$name is in both ${seen[$name]} and $dir"
			seen[$name]=$dir
			if readelf -lW "$f" 2>/dev/null | grep -q 'program interpreter'; then
				die "$f is dynamically linked; link guest programs with -static"
			fi
			echo "$name $f"
		done
	done
}

manifest() {
	local name path
	echo "kernel $kpkg $kversion"
	echo "busybox $(dpkg-query -W -f='${Version}' busybox-static)"
	echo "cc $(${CC:-gcc} --version | head -1)"
	echo "init $(sha256sum <"$here/guest-init/init.c" | cut -d' ' -f1)"
	echo "mkimage $(sha256sum <"$here/mkimage.sh" | cut -d' ' -f1)"
	while read -r name path; do
		[ -n "$name" ] || continue
		echo "guest $name $(sha256sum <"$path" | cut -d' ' -f1)"
	done <<<"$programs"
}

# --- kernel -----------------------------------------------------------------

# le32 FILE OFFSET, le16 FILE OFFSET, hex4 FILE OFFSET: the numbers and bytes there.
le32() { od -A n -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
le16() { od -A n -t u2 -j "$2" -N 2 "$1" | tr -d ' '; }
hex4() { od -A n -t x1 -j "$2" -N 4 "$1" | tr -d ' '; }
is_elf() { [ "$(hex4 "$1" 0)" = 7f454c46 ]; }

# Writes the ELF kernel inside bzImage $1 to $2. The boot protocol header
# (2.08+) gives the compressed payload's offset and length relative to the
# protected-mode code, which follows the (setup_sects + 1) setup sectors;
# the payload ends with its uncompressed size (4 bytes, little endian).
extract_vmlinux() {
	local bz=$1 elf=$2 setup_sects start len size magic
	[ "$(hex4 "$bz" $((0x202)))" = 48647253 ] || die "$bz is not a bzImage (no HdrS header)"
	[ "$(le16 "$bz" $((0x206)))" -ge $((0x208)) ] ||
		die "$bz: boot protocol older than 2.08 has no payload offset"
	setup_sects=$(od -A n -t u1 -j $((0x1f1)) -N 1 "$bz" | tr -d ' ')
	start=$(((setup_sects + 1) * 512 + $(le32 "$bz" $((0x248)))))
	len=$(le32 "$bz" $((0x24c)))
	size=$(le32 "$bz" $((start + len - 4)))
	magic=$(hex4 "$bz" "$start")
	local decompress
	case "$magic" in
	fd377a58) decompress="xz -dc" ;;
	1f8b*) decompress="gzip -dc" ;;
	28b52ffd) decompress="zstd -dcq" ;;
	*) die "$bz: unsupported kernel compression (payload magic $magic)" ;;
	esac
	dd if="$bz" iflag=skip_bytes,count_bytes skip="$start" count=$((len - 4)) status=none |
		$decompress >"$elf"
	[ "$(stat -c %s "$elf")" = "$size" ] ||
		die "$bz: decompressed $(stat -c %s "$elf") bytes, header says $size"
	is_elf "$elf" || die "$elf is not an ELF file"
	# XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point QEMU boots.
	readelf -nW "$elf" | grep -Eq '^ *Xen .*\(0x00000012\)' ||
		die "$elf has no PVH entry note (kernel built without CONFIG_PVH)"
}

# Fills $kdir with vmlinux and modules/ from the kernel package, downloaded
# (not installed) with apt-get.
fetch_kernel() {
	local tmp=$kdir.tmp deb
	rm -rf "$tmp"
	mkdir -p "$tmp/deb" "$tmp/root" "$tmp/modules"
	# apt drops root to _apt for downloads; let it write there.
	chown _apt "$tmp/deb" 2>/dev/null || true
	say "[kernel] downloading $kpkg $kversion"
	(cd "$tmp/deb" && apt-get download -q "$kpkg=$kversion" >/dev/null) ||
		(apt-get update -q >/dev/null && cd "$tmp/deb" && apt-get download -q "$kpkg=$kversion" >/dev/null) ||
		die "cannot download $kpkg $kversion (is the Debian archive reachable?)"
	deb=$(echo "$tmp"/deb/*.deb)
	say "[kernel] extracting vmlinuz and modules"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/root" \
		"./boot/vmlinuz-$kver" "./lib/modules/$kver/kernel/drivers" "./lib/modules/$kver/kernel/net/core"
	local m f
	for m in $MODULES; do
		f=$(find "$tmp/root/lib/modules/$kver" -name "$m.ko" | head -1)
		[ -n "$f" ] || die "$kpkg has no $m.ko"
		cp "$f" "$tmp/modules/"
	done
	say "[kernel] decompressing vmlinuz into vmlinux"
	extract_vmlinux "$tmp/root/boot/vmlinuz-$kver" "$tmp/vmlinux"
	rm -rf "$tmp/deb" "$tmp/root"
	mv -T "$tmp" "$kdir"
}

# --- initramfs --------------------------------------------------------------

build_initramfs() {
	local root=$1 img=$2 m name path applet
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc} "$root/lib/modules/$kver"

	say "[initramfs] compiling ftmb-init"
	${CC:-gcc} -static -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$root/init" "$here/guest-init/init.c"
	strip "$root/init"

	say "[initramfs] busybox $(dpkg-query -W -f='${Version}' busybox-static) and its applets"
	cp /bin/busybox "$root/bin/busybox"
	busybox --list-full | while read -r applet; do
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done

	say "[initramfs] modules of $kver"
	for m in $MODULES; do
		cp "$kdir/modules/$m.ko" "$root/lib/modules/$kver/"
		echo "/lib/modules/$kver/$m.ko" >>"$root/lib/modules/ftmb.order"
	done

	while read -r name path; do
		[ -n "$name" ] || continue
		say "[initramfs] guest program /usr/bin/$name"
		install -m 755 "$path" "$root/usr/bin/$name"
		# Debug information only slows the boot: the archive is copied and unpacked whole.
		if is_elf "$path"; then strip "$root/usr/bin/$name"; fi
	done <<<"$programs"

	# Uncompressed: under TCG the kernel's gunzip costs more than the bigger
	# copy through fw_cfg saves.
	say "[initramfs] packing"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet) >"$img"
}

# --- cache ------------------------------------------------------------------

prune_cache() {
	local old
	ls -1dt "$cache"/image-*/ 2>/dev/null | tail -n +$((KEEP_IMAGES + 1)) | while read -r old; do
		say "[cache] removing old image $old"
		rm -rf "$old"
	done
	for old in "$cache"/kernel-*/; do
		[ -d "$old" ] && [ "${old%/}" != "$kdir" ] || continue
		say "[cache] removing old kernel $old"
		rm -rf "$old"
	done
}

print_result() {
	local dir=$1
	if [ -n "$out" ]; then
		mkdir -p "$out"
		ln -sfn "$dir/vmlinux" "$out/vmlinux"
		ln -sfn "$dir/initrd.img" "$out/initrd.img"
	fi
	if [ "$json" = 1 ]; then
		printf '{"kernel": "%s", "initrd": "%s", "key": "%s", "cached": %s}\n' \
			"$dir/vmlinux" "$dir/initrd.img" "$key" "$cached"
	else
		echo "kernel $dir/vmlinux"
		echo "initrd $dir/initrd.img"
	fi
}

main() {
	"$here/setup-deps.sh" >&2 # stdout is for the result
	mkdir -p "$cache" && [ -w "$cache" ] || die "cannot write to $cache (run as root or pass --cache DIR)"
	exec 9>"$cache/lock"
	flock 9

	read -r kpkg kversion <<<"$(kernel_package)"
	if [ -z "$kpkg" ]; then
		say "[kernel] no linux-image-amd64 in the package lists; running apt-get update"
		apt-get update -q >/dev/null
		read -r kpkg kversion <<<"$(kernel_package)"
		[ -n "$kpkg" ] || die "apt knows no linux-image-amd64 (check /etc/apt/sources.list)"
	fi
	kver=${kpkg#linux-image-}
	kdir=$cache/kernel-${kver}_$kversion
	programs=$(guest_programs)
	key=$(manifest | sha256sum | cut -c1-16)
	local dir=$cache/image-$key

	if [ -f "$dir/initrd.img" ] && [ -f "$dir/vmlinux" ]; then
		say "[cache] inputs unchanged: reusing $dir"
		touch "$dir"
		cached=true
		print_result "$dir"
		return
	fi
	say "[cache] building image $key ($kpkg $kversion, $(grep -c . <<<"$programs") guest programs)"
	[ -f "$kdir/vmlinux" ] || fetch_kernel

	local tmp=$dir.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	build_initramfs "$tmp/root" "$tmp/initrd.img"
	rm -rf "$tmp/root"
	ln "$kdir/vmlinux" "$tmp/vmlinux"
	manifest >"$tmp/manifest"
	mv -T "$tmp" "$dir"
	say "[cache] built $dir: initrd $(du -h --apparent-size "$dir/initrd.img" | cut -f1), vmlinux $(du -h --apparent-size "$dir/vmlinux" | cut -f1)"
	cached=false
	prune_cache
	print_result "$dir"
}

main
