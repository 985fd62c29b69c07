# SPDX-License-Identifier: GPL-2.0-or-later
# Unit tests of the example middleboxes' packet code.

UNIT_TESTS += $(BUILD)/tests/mb/test_pkt
CFLAGS_tests/mb/ := -Iguest-shim/examples

$(BUILD)/tests/mb/test_pkt: $(BUILD)/tests/mb/test_pkt.o $(BUILD)/guest-shim/examples/pkt.o
	$(CC) -o $@ $^ $(call pc,--libs cmocka)

$(SAN)/tests/mb/test_pkt: $(SAN)/tests/mb/test_pkt.o $(SAN)/guest-shim/examples/pkt.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc,--libs cmocka)
