#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# QEMU cannot include hostd/include/ftmb/ckpt.h, so the QEMU patch carries
# its own copies of the frame format's constants. Every FTMB_CKPT_* value the
# patch defines must equal the header's. (The round trip then checks that
# real frames parse.)
set -euo pipefail
cd "$(dirname "$0")/../.."

# Prints "NAME VALUE" for each FTMB_CKPT_* #define in the input.
defines() {
	sed -n 's/^+\{0,1\}#define[ \t]\{1,\}\(FTMB_CKPT_[A-Z0-9_]*\)[ \t]\{1,\}\([^ \t/]*\).*/\1 \2/p' | sort
}

patch_defs=$(cat qemu-patches/*.patch | defines)
header_defs=$(defines <hostd/include/ftmb/ckpt.h)
n=$(grep -c . <<<"$patch_defs" || true)
[ "$n" -ge 7 ] || { echo "check-format: FAIL: found only $n FTMB_CKPT_* defines in qemu-patches/"; exit 1; }

bad=0
while read -r name value; do
	want=$(awk -v n="$name" '$1 == n { print $2 }' <<<"$header_defs")
	if [ -z "$want" ]; then
		echo "check-format: FAIL: the QEMU patch defines $name, ftmb/ckpt.h does not"
		bad=1
	elif [ "$want" != "$value" ]; then
		echo "check-format: FAIL: $name is $value in the QEMU patch, $want in ftmb/ckpt.h"
		bad=1
	fi
done <<<"$patch_defs"
[ "$bad" = 0 ] || exit 1
echo "check-format: the QEMU patch and ftmb/ckpt.h agree on $n constants:" $(cut -d' ' -f1 <<<"$patch_defs" | sed 's/FTMB_CKPT_//')
