# SPDX-License-Identifier: GPL-2.0-or-later
# VM checkpoints end to end: unit tests of the pieces (the cut slot, the
# COMMITTED frame, mode checkpoint's hold logic, the QEMU command line, the
# backup's commits), the integration check with two ftmb-hostd and a VM
# under TCG, and `make bench-checkpoint` (not in make check).

CKPT_TESTS := test_cut test_committed test_hold test_vm_cmdline test_commit
UNIT_TESTS += $(CKPT_TESTS:%=$(BUILD)/tests/ckpt/%)
CFLAGS_tests/ckpt/ = -Ihostd -Ivhost-backend $(call pc,--cflags cmocka glib-2.0 gio-2.0)
CKPT_UNIT_LDLIBS = $(call pc,--libs cmocka glib-2.0 gio-2.0) -lisal

# What each test links besides libftmb.a.
CKPT_LINK_test_cut := libhostregion.a
CKPT_LINK_test_committed := libftmbrepl.a
CKPT_LINK_test_hold := libvhostcore.a libftmbrepl.a
CKPT_LINK_test_vm_cmdline := hostd/vm_cmdline.o hostd/config.o hostd/net.o hostd/error.o \
	libftmbrepl.a
CKPT_LINK_test_commit := hostd/commit.o hostd/logstore.o hostd/error.o libftmbrepl.a

define CKPT_TEST_RULES
$(BUILD)/tests/ckpt/$(1): $(BUILD)/tests/ckpt/$(1).o $(CKPT_LINK_$(1):%=$(BUILD)/%) $(BUILD)/libftmb.a
	$$(CC) -o $$@ $$^ $$(CKPT_UNIT_LDLIBS)

$(SAN)/tests/ckpt/$(1): $(SAN)/tests/ckpt/$(1).o $(CKPT_LINK_$(1):%=$(SAN)/%) $(SAN)/libftmb.a
	$$(CC) $$(SAN_FLAGS) -o $$@ $$^ $$(CKPT_UNIT_LDLIBS)
endef
$(foreach t,$(CKPT_TESTS),$(eval $(call CKPT_TEST_RULES,$(t))))

CKPT_VM_DEPS = $(BUILD)/qemu-system-x86_64 $(BUILD)/ftmb-hostd $(BUILD)/ftmb-vhost \
	$(BUILD)/ftmb-traffic $(BUILD)/ftmb-verify $(GUEST_BINS) $(BUILD)/ftmb-monitor \
	$(BUILD)/tests/vhost/test-ext
CHECKS += tests/ckpt/check-hostproc.sh tests/ckpt/check-vm.sh tests/ckpt/check-handover.sh
CHECK_DEPS += $(CKPT_VM_DEPS)

bench-checkpoint: $(CKPT_VM_DEPS)
	@tests/ckpt/bench-checkpoint.sh
.PHONY: bench-checkpoint
