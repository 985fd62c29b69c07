# SPDX-License-Identifier: GPL-2.0-or-later
# Checkpoints: the stream parser, store and restore stream (cmocka), that the
# QEMU patch and ftmb/ckpt.h agree on the format, and the round trip through
# patched QEMU under TCG.

CFLAGS_tests/qemu/ = -Ihostd $(call pc,--cflags cmocka)
CKPT_TEST_LDLIBS = $(call pc,--libs cmocka) -lisal

UNIT_TESTS += $(BUILD)/tests/qemu/test_ckpt

$(BUILD)/tests/qemu/test_ckpt: $(BUILD)/tests/qemu/test_ckpt.o $(BUILD)/libftmbckpt.a \
		$(BUILD)/libftmbrepl.a $(BUILD)/libftmb.a
	$(CC) -o $@ $^ $(CKPT_TEST_LDLIBS)

$(SAN)/tests/qemu/test_ckpt: $(SAN)/tests/qemu/test_ckpt.o $(SAN)/libftmbckpt.a \
		$(SAN)/libftmbrepl.a $(SAN)/libftmb.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(CKPT_TEST_LDLIBS)

CHECKS += tests/qemu/check-format.sh tests/qemu/roundtrip.sh
CHECK_DEPS += $(BUILD)/qemu-system-x86_64 $(BUILD)/ftmb-ckpt $(BUILD)/tests/qemu/ckpt-counter

# The patched QEMU: qemu-patches/build.sh builds it once into its cache
# (about 10 minutes on 2 cores, then instant) and prints its path.
$(BUILD)/qemu-system-x86_64: qemu-patches/build.sh $(wildcard qemu-patches/*.patch)
	@mkdir -p $(@D)
	ln -sfn "$$(qemu-patches/build.sh | tail -1)" $@

# The round trip's guest program (static: the guest has no libraries).
$(BUILD)/tests/qemu/ckpt-counter: $(BUILD)/tests/qemu/ckpt_counter.o
	$(CC) -static -o $@ $^
