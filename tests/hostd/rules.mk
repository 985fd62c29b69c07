# SPDX-License-Identifier: GPL-2.0-or-later
# ftmb-hostd: unit tests of the log store and the configuration, and
# integration checks that run the daemon against a fake primary.

HOSTD_TESTS := test_logstore test_config
UNIT_TESTS += $(HOSTD_TESTS:%=$(BUILD)/tests/hostd/%)
HOSTD_TEST_LIBS := libftmbrepl.a libftmb.a
HOSTD_TEST_LDLIBS = $(HOSTD_LDLIBS) $(call pc,--libs cmocka) -lpthread -lm
CFLAGS_tests/hostd/ = $(CFLAGS_hostd/) -Ihostd

$(BUILD)/tests/hostd/test_%: $(BUILD)/tests/hostd/test_%.o \
		$(HOSTD_UNIT_SRCS:%.c=$(BUILD)/%.o) $(HOSTD_TEST_LIBS:%=$(BUILD)/%)
	$(CC) -o $@ $^ $(HOSTD_TEST_LDLIBS)

$(SAN)/tests/hostd/test_%: $(SAN)/tests/hostd/test_%.o \
		$(HOSTD_UNIT_SRCS:%.c=$(SAN)/%.o) $(HOSTD_TEST_LIBS:%=$(SAN)/%)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(HOSTD_TEST_LDLIBS)

# What the integration checks run besides the daemon: the fake primary, and
# the daemon under the sanitizers for check-backup.sh.
FAKE_PRIMARY := $(BUILD)/tests/hostd/fake-primary
$(FAKE_PRIMARY): $(BUILD)/tests/hostd/fake_primary.o $(BUILD)/hostd/net.o \
		$(HOSTD_TEST_LIBS:%=$(BUILD)/%)
	$(CC) -o $@ $^ $(HOSTD_TEST_LDLIBS)
CHECK_DEPS += $(FAKE_PRIMARY) $(SAN)/ftmb-hostd

CHECKS += tests/hostd/check-backup.sh tests/hostd/check-failover.sh tests/hostd/check-pair.sh \
	tests/hostd/check-ping-netns.sh
