# SPDX-License-Identifier: GPL-2.0-or-later
# Middlebox VMs on a network of hosts (lib.sh): the monitor VM and the NAT
# VM on the data path under TCG, and the announce after failover; the
# Ethernet/ARP handling they need (cmocka).

UNIT_TESTS += $(BUILD)/tests/vm/test_eth
CFLAGS_tests/vm/ = -Iguest-shim/examples $(call pc,--cflags cmocka)

$(BUILD)/tests/vm/test_eth: $(BUILD)/tests/vm/test_eth.o $(BUILD)/guest-shim/examples/eth.o
	$(CC) -o $@ $^ $(call pc,--libs cmocka)

$(SAN)/tests/vm/test_eth: $(SAN)/tests/vm/test_eth.o $(SAN)/guest-shim/examples/eth.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc,--libs cmocka)

# The VM tests need the patched QEMU (tests/qemu/rules.mk) and the static
# guest middleboxes for the image (tools/mkimage.sh, cached).
CHECKS += tests/vm/announce.sh tests/vm/vm-monitor.sh tests/vm/vm-nat-tcp.sh
CHECK_DEPS += $(BUILD)/qemu-system-x86_64 $(GUEST_BINS)
