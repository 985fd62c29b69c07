# SPDX-License-Identifier: GPL-2.0-or-later
# Each folder under tests/ brings its own fragment. Fragments append:
#   UNIT_TESTS  cmocka binaries under $(BUILD)/tests/; each is also built
#               and run under ASan+UBSan from $(SAN)/tests/
#   CHECKS      other test commands (integration, end-to-end), run after
#   CHECK_DEPS  what those commands need built first
include $(wildcard tests/*/rules.mk)
