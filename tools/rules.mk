# SPDX-License-Identifier: GPL-2.0-or-later

# --- guest image (helper "image"; tools/mkimage.sh) ---------------------------
# `make image` builds the cached guest kernel and initramfs holding every
# static program in $(BUILD)/guest/ (GUEST_BINS lists the ones make builds)
# and links them as $(BUILD)/image/vmlinux and $(BUILD)/image/initrd.img.
# mkimage.sh keys its cache on every input, so it always runs and returns
# within a couple of seconds when nothing changed.
image: $(GUEST_BINS)
	tools/mkimage.sh --bin-dir $(BUILD)/guest --out $(BUILD)/image
.PHONY: image
