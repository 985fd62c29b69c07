# SPDX-License-Identifier: GPL-2.0-or-later
# Middlebox VMs on a network of hosts (lib.sh): the monitor VM and the NAT
# VM on the data path under TCG, the announce after failover, VM failover
# (checkpoint restore + replay) under load with its negative control, and a
# TCP download through the NAT VM across a host kill; the Ethernet/ARP
# handling they need (cmocka).
#
#   make test-failover-vm [ROUNDS=5]     rounds of host kills under load
#   make test-reprotect-vm [ROUNDS=2]    two host kills in a row, a third host
#                                        re-protecting the first replica

UNIT_TESTS += $(BUILD)/tests/vm/test_eth
CFLAGS_tests/vm/ = -Iguest-shim/examples $(call pc,--cflags cmocka)

$(BUILD)/tests/vm/test_eth: $(BUILD)/tests/vm/test_eth.o $(BUILD)/guest-shim/examples/eth.o
	$(CC) -o $@ $^ $(call pc,--libs cmocka)

$(SAN)/tests/vm/test_eth: $(SAN)/tests/vm/test_eth.o $(SAN)/guest-shim/examples/eth.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc,--libs cmocka)

# The VM tests need the patched QEMU (tests/qemu/rules.mk) and the static
# guest middleboxes for the image (tools/mkimage.sh, cached).
CHECKS += tests/vm/announce.sh tests/vm/vm-monitor.sh tests/vm/vm-nat-tcp.sh \
	tests/vm/failover-vm.sh tests/vm/failover-vm-negative.sh tests/vm/failover-vm-tcp.sh \
	tests/vm/reprotect-vm.sh
VM_FAILOVER_DEPS = $(BUILD)/qemu-system-x86_64 $(GUEST_BINS) $(BUILD)/ftmb-hostd \
	$(BUILD)/ftmb-vhost $(BUILD)/ftmb-traffic $(BUILD)/ftmb-verify $(BUILD)/ftmbctl
CHECK_DEPS += $(VM_FAILOVER_DEPS)

test-failover-vm: $(VM_FAILOVER_DEPS)
	tests/vm/failover-vm.sh $(or $(ROUNDS),5)

test-reprotect-vm: $(VM_FAILOVER_DEPS)
	tests/vm/reprotect-vm.sh $(or $(ROUNDS),2)
.PHONY: test-failover-vm test-reprotect-vm
