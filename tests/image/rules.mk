# SPDX-License-Identifier: GPL-2.0-or-later
# Guest image tests: boot the image under TCG with small static guest
# programs and check what the serial console shows.

IMAGE_TEST_PROGS := $(BUILD)/tests/image/guest/hello $(BUILD)/tests/image/guest/ivshmem-poke

$(BUILD)/tests/image/guest/%: $(BUILD)/tests/image/%.o
	@mkdir -p $(@D)
	$(CC) -static -o $@ $^

image-test-programs: $(IMAGE_TEST_PROGS)
CHECK_DEPS += image-test-programs

CHECKS += tests/image/boot-test.sh
.PHONY: image-test-programs
