# SPDX-License-Identifier: GPL-2.0-or-later
# Tests of the traffic tools: unit tests of libtesttraffic and of the
# verifier (its negative controls), and checks that run ftmb-verify on
# hand-made files, ftmb-traffic over memif, and both through the example
# middleboxes (in mode off, on a region made by mkregion).

TRAFFIC_TESTS := test_testtraffic test_verify
UNIT_TESTS += $(TRAFFIC_TESTS:%=$(BUILD)/tests/traffic/%)
CHECKS += tests/traffic/verify-cli.sh tests/traffic/records-cli.sh tests/traffic/traffic-loop.sh tests/traffic/traffic-mb.sh
CHECK_DEPS += $(BUILD)/tests/traffic/mkregion $(BUILD)/ftmb-monitor $(BUILD)/ftmb-nat

CFLAGS_tests/traffic/ = -Ivhost-backend -Itools/testtraffic -Itools/verify $(call pc,--cflags glib-2.0 cmocka)
TRAFFIC_TEST_LDLIBS = $(call pc,--libs cmocka glib-2.0) -lm

$(BUILD)/tests/traffic/test_testtraffic: $(BUILD)/tests/traffic/test_testtraffic.o \
		$(BUILD)/libtesttraffic.a
	$(CC) -o $@ $^ $(TRAFFIC_TEST_LDLIBS)

$(SAN)/tests/traffic/test_testtraffic: $(SAN)/tests/traffic/test_testtraffic.o \
		$(SAN)/libtesttraffic.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(TRAFFIC_TEST_LDLIBS)

$(BUILD)/tests/traffic/test_verify: $(BUILD)/tests/traffic/test_verify.o \
		$(BUILD)/tools/verify/verify.o $(BUILD)/libtesttraffic.a
	$(CC) -o $@ $^ $(TRAFFIC_TEST_LDLIBS)

$(SAN)/tests/traffic/test_verify: $(SAN)/tests/traffic/test_verify.o \
		$(SAN)/tools/verify/verify.o $(SAN)/libtesttraffic.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(TRAFFIC_TEST_LDLIBS)


$(BUILD)/tests/traffic/mkregion: $(BUILD)/tests/traffic/mkregion.o $(BUILD)/libhostregion.a \
		$(BUILD)/libftmb.a
	$(CC) -o $@ $^ -lpthread
