#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the ftmb qemu-system-x86_64: Debian bookworm's QEMU 7.2 source (with
# Debian's patches) plus qemu-patches/*.patch, configured for x86_64-softmmu
# only (KVM and TCG, vhost-user, virtio-net, ivshmem; no docs, tools or GUI).
#
# The result lives in $CACHE/qemu-KEY/, KEY hashing every input: the source
# package version, the patches, this script and the configure flags. A
# finished build is reused at once; the source package is downloaded once.
# The last line on stdout is the path of the binary.
#
#   qemu-patches/build.sh [--cache DIR] [-j N]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${FTMB_CACHE:-/var/cache/ftmb}
jobs=2

# Firmware comes from Debian's seabios, ipxe-qemu and qemu-system-data.
FIRMWARE=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
CONFIGURE_FLAGS=(
	--target-list=x86_64-softmmu
	--without-default-features
	--enable-kvm --enable-tcg
	--enable-vhost-user --enable-vhost-net --enable-vhost-kernel
	--enable-fdt=system
	--disable-docs --disable-tools --disable-guest-agent
	--disable-install-blobs --disable-werror
	--firmwarepath=$FIRMWARE
	--with-git-submodules=ignore
)
BUILD_DEPS="dpkg-dev build-essential pkg-config python3 ninja-build meson
libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev"
RUNTIME_DEPS="seabios ipxe-qemu qemu-system-data"
DEB_SRC_LIST=/etc/apt/sources.list.d/ftmb-deb-src.sources

say() { echo "qemu-build: $*" >&2; }
die() { echo "qemu-build: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	-j) jobs=${2:?-j needs a number}; shift 2 ;;
	-h | --help) sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
	local p status missing=""
	for p in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$status" = installed ] || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	say "[deps] installing$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends \
		$missing >/dev/null
}

# apt-get source needs deb-src entries; they mirror Debian's default
# bookworm, bookworm-updates and bookworm-security 'deb' entries.
ensure_deb_src() {
	local want
	want=$(cat <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
)
	if [ "$(cat "$DEB_SRC_LIST" 2>/dev/null)" != "$want" ]; then
		say "[source] adding deb-src entries ($DEB_SRC_LIST)"
		echo "$want" | as_root tee "$DEB_SRC_LIST" >/dev/null
		as_root apt-get update -q >/dev/null
	elif ! apt-get source --print-uris qemu >/dev/null 2>&1; then
		as_root apt-get update -q >/dev/null
	fi
}

# Prints the version of the qemu source package apt-get source would fetch.
source_version() {
	apt-get source --print-uris qemu 2>/dev/null |
		sed -n "s/^'[^']*' qemu_\([^ ]*\)\.dsc .*/\1/p" | head -1
}

# Fills $srcdir/ with the Debian source package, downloaded once.
fetch_source() {
	local dl=$cache/qemu-src dsc
	dsc=$dl/qemu_$version.dsc
	if [ ! -f "$dsc" ]; then
		say "[source] downloading qemu $version"
		mkdir -p "$dl"
		chown _apt "$dl" 2>/dev/null || true # apt downloads as _apt
		(cd "$dl" && apt-get source -q --download-only qemu >/dev/null)
		[ -f "$dsc" ] || die "apt-get source fetched no $dsc"
	fi
	say "[source] unpacking qemu $version with Debian's patches"
	dpkg-source -x "$dsc" "$srcdir" >"$tmp/unpack.log" 2>&1 || {
		tail -5 "$tmp/unpack.log" >&2
		die "cannot unpack $dsc"
	}
}

apply_patches() {
	local p
	for p in "${patches[@]}"; do
		say "[patch] $(basename "$p")"
		patch -d "$srcdir" -p1 -s --no-backup-if-mismatch <"$p" ||
			die "$(basename "$p") does not apply to qemu $version"
	done
}

build() {
	say "[configure] ${CONFIGURE_FLAGS[*]}"
	mkdir -p "$tmp/build"
	(cd "$tmp/build" && "$srcdir/configure" --prefix="$dir" "${CONFIGURE_FLAGS[@]}" \
		>"$tmp/configure.log" 2>&1) || {
		tail -20 "$tmp/configure.log" >&2
		die "configure failed (log: $tmp/configure.log)"
	}
	say "[build] ninja -j$jobs qemu-system-x86_64 (about 8 minutes on 2 cores)"
	# ninja prints one "[n/total] ..." line per step: that is the progress.
	ninja -C "$tmp/build" -j"$jobs" qemu-system-x86_64 >&2 ||
		die "build failed (tree kept in $tmp)"
}

main() {
	local patches key started
	install_missing $BUILD_DEPS $RUNTIME_DEPS
	ensure_deb_src
	version=$(source_version)
	[ -n "$version" ] || die "apt knows no qemu source package (is deb.debian.org reachable?)"
	shopt -s nullglob
	patches=("$here"/*.patch)
	key=$( {
		echo "qemu $version"
		for p in "${patches[@]}"; do echo "patch $(basename "$p") $(sha256sum <"$p" | cut -d' ' -f1)"; done
		echo "build.sh $(sha256sum <"$0" | cut -d' ' -f1)"
		echo "flags ${CONFIGURE_FLAGS[*]}"
	} | sha256sum | cut -c1-16)
	dir=$cache/qemu-$key
	if [ -x "$dir/bin/qemu-system-x86_64" ] && [ -f "$dir/done" ]; then
		echo "$dir/bin/qemu-system-x86_64"
		return
	fi

	mkdir -p "$cache"
	exec 9>"$cache/qemu-build.lock"
	flock 9
	if [ -f "$dir/done" ]; then # built while we waited for the lock
		echo "$dir/bin/qemu-system-x86_64"
		return
	fi
	started=$(date +%s)
	say "[cache] building $dir (qemu $version, ${#patches[@]} patches)"
	tmp=$dir.tmp
	srcdir=$tmp/src
	rm -rf "$tmp" "$dir"
	mkdir -p "$tmp"
	fetch_source
	apply_patches
	build
	mkdir -p "$dir/bin"
	install -m 755 "$tmp/build/qemu-system-x86_64" "$dir/bin/"
	"$dir/bin/qemu-system-x86_64" --version | head -1 >"$dir/done"
	rm -rf "$tmp"
	say "[done] built in $(($(date +%s) - started)) s"
	echo "$dir/bin/qemu-system-x86_64"
}

main
