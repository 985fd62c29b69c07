#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installs the Debian packages ftmb needs to build and test, and nothing else.
# Idempotent and silent when everything is present; run by `make check` and
# `make demo`. Needs root (or sudo) only when something is missing.
set -eu

PACKAGES="
build-essential
pkg-config
libcmocka-dev
libglib2.0-dev
libjson-glib-dev
libdpdk-dev
dpdk
libisal-dev
libsystemd-dev
iproute2
python3
busybox-static
cpio
xz-utils
qemu-system-x86
dpkg-dev
ninja-build
meson
libpixman-1-dev
zlib1g-dev
libfdt-dev
seabios
ipxe-qemu
qemu-system-data
dpdk-dev
libvirt-dev
libxml2-dev
libvirt-daemon-system
libvirt-daemon-driver-qemu
libvirt-clients
ethtool
curl
gnuplot-nox
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "setup: installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "setup: packages installed"
