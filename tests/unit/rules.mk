# SPDX-License-Identifier: GPL-2.0-or-later
# Unit tests of the shared contracts.

CFLAGS_tests/unit/ := -Ivhost-backend
CONTRACT_TESTS := test_vclock test_tag test_region test_repl test_shim
UNIT_TESTS += $(CONTRACT_TESTS:%=$(BUILD)/tests/unit/%)
CONTRACT_LIBS := libhostregion.a libftmbrepl.a libftmb.a
CONTRACT_LDLIBS = $(call pc,--libs cmocka) -lisal -lpthread

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(CONTRACT_LIBS:%=$(BUILD)/%)
	$(CC) -o $@ $^ $(CONTRACT_LDLIBS)

$(SAN)/tests/unit/%: $(SAN)/tests/unit/%.o $(CONTRACT_LIBS:%=$(SAN)/%)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(CONTRACT_LDLIBS)
