# SPDX-License-Identifier: GPL-2.0-or-later
# ftmbctl against a real ftmb-hostd fed by fake primaries, and against fake
# daemons for the errors and the proposed operations (check-ctl.sh).

CHECK_DEPS += $(BUILD)/ftmbctl $(SAN)/ftmbctl $(BUILD)/ftmb-hostd $(BUILD)/tests/hostd/fake-primary
CHECKS += tests/ctl/check-ctl.sh
