# SPDX-License-Identifier: GPL-2.0-or-later
# ftmb-vhost's tests: cmocka unit tests of its pure logic, the test tools
# (a guest, the external side, a fake backup) and the integration scripts.

VHOST_UNIT := test_release test_rss test_sendbuf test_replay_log test_config
UNIT_TESTS += $(VHOST_UNIT:%=$(BUILD)/tests/vhost/%)

CFLAGS_tests/vhost/ = -Ivhost-backend $(call pc,--cflags libdpdk cmocka)
VHOST_UNIT_LIBS := libvhostcore.a libftmbrepl.a libftmb.a
VHOST_UNIT_LDLIBS = $(call pc,--libs cmocka) -lisal -lpthread

$(VHOST_UNIT:%=$(BUILD)/tests/vhost/%): $(BUILD)/tests/vhost/%: $(BUILD)/tests/vhost/%.o \
		$(VHOST_UNIT_LIBS:%=$(BUILD)/%)
	$(CC) -o $@ $^ $(VHOST_UNIT_LDLIBS)

$(VHOST_UNIT:%=$(SAN)/tests/vhost/%): $(SAN)/tests/vhost/%: $(SAN)/tests/vhost/%.o \
		$(VHOST_UNIT_LIBS:%=$(SAN)/%)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(VHOST_UNIT_LDLIBS)

# Test tools, used by the scripts below.
VHOST_TOOLS := $(BUILD)/tests/vhost/test-guest $(BUILD)/tests/vhost/test-ext \
	$(BUILD)/tests/vhost/fake-backup
VHOST_TOOL_LDLIBS = $(call pc,--libs libdpdk) -lisal -lpthread

$(BUILD)/tests/vhost/test-guest: $(BUILD)/tests/vhost/test_guest.o $(BUILD)/tests/vhost/tport.o \
		$(BUILD)/libvhostcore.a $(BUILD)/libftmb.a
	$(CC) -o $@ $^ $(VHOST_TOOL_LDLIBS)

$(BUILD)/tests/vhost/test-ext: $(BUILD)/tests/vhost/test_ext.o $(BUILD)/tests/vhost/tport.o \
		$(BUILD)/libvhostcore.a $(BUILD)/libftmb.a
	$(CC) -o $@ $^ $(VHOST_TOOL_LDLIBS)

$(BUILD)/tests/vhost/fake-backup: $(BUILD)/tests/vhost/fake_backup.o $(BUILD)/libftmbrepl.a \
		$(BUILD)/libftmb.a
	$(CC) -o $@ $^ -lisal

CHECK_DEPS += $(VHOST_TOOLS) $(BUILD)/ftmb-vhost $(BUILD)/ftmb-monitor $(BUILD)/ftmb-hostd
CHECKS += tests/vhost/test_off.sh tests/vhost/test_ftmb.sh tests/vhost/test_hostile.sh \
	tests/vhost/test_backup_loss.sh tests/vhost/test_backup_reconnect.sh tests/vhost/test_replay.sh \
	tests/vhost/test_reprotect.sh \
	tests/vhost/test_monitor.sh tests/vhost/test_hostd.sh \
	tests/vhost/test_monitor_failover.sh tests/vhost/bench.sh
