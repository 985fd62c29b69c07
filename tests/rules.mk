# SPDX-License-Identifier: GPL-2.0-or-later
# Unit tests (cmocka), each built twice: plain and with ASan+UBSan.

UNIT_NAMES := test_vclock test_tag test_region test_repl
UNIT_TESTS := $(UNIT_NAMES:%=$(BUILD)/tests/unit/%)
UNIT_LIBS = libhostregion.a libftmbrepl.a libftmb.a
UNIT_LDLIBS = $(call pc,--libs cmocka) -lisal -lpthread

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(UNIT_LIBS:%=$(BUILD)/%)
	$(CC) -o $@ $^ $(UNIT_LDLIBS)

$(SAN)/tests/unit/%: $(SAN)/tests/unit/%.o $(UNIT_LIBS:%=$(SAN)/%)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(UNIT_LDLIBS)
