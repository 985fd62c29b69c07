# SPDX-License-Identifier: GPL-2.0-or-later
# libvirt: the parsers of hostd/libvirt_domains.c (cmocka), and a protected
# domain defined from hostd/examples/protected-nat.xml, booted by a private
# libvirtd and discovered by the module (define-start.sh).

LIBVIRT_TEST_OBJS := $(HOSTD_LIBVIRT_SRCS) $(HOSTD_UNIT_SRCS)
LIBVIRT_TEST_LIBS := libftmbrepl.a libftmb.a
LIBVIRT_TEST_LDLIBS = $(HOSTD_LIBVIRT_LDLIBS) $(HOSTD_LDLIBS) $(call pc,--libs cmocka)
CFLAGS_tests/libvirt/ = $(CFLAGS_hostd/) -Ihostd $(call pc,--cflags libvirt libxml-2.0 cmocka)

UNIT_TESTS += $(BUILD)/tests/libvirt/test_libvirt_domains

$(BUILD)/tests/libvirt/test_%: $(BUILD)/tests/libvirt/test_%.o $(LIBVIRT_TEST_OBJS:%.c=$(BUILD)/%.o) \
		$(LIBVIRT_TEST_LIBS:%=$(BUILD)/%)
	$(CC) -o $@ $^ $(LIBVIRT_TEST_LDLIBS)

$(SAN)/tests/libvirt/test_%: $(SAN)/tests/libvirt/test_%.o $(LIBVIRT_TEST_OBJS:%.c=$(SAN)/%.o) \
		$(LIBVIRT_TEST_LIBS:%=$(SAN)/%)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBVIRT_TEST_LDLIBS)

# What define-start.sh runs: the module against the private libvirtd, the
# guest image's middlebox, the region maker, and the patched QEMU.
LIST_PROTECTED := $(BUILD)/tests/libvirt/list-protected
$(LIST_PROTECTED): $(BUILD)/tests/libvirt/list_protected.o $(LIBVIRT_TEST_OBJS:%.c=$(BUILD)/%.o) \
		$(LIBVIRT_TEST_LIBS:%=$(BUILD)/%)
	$(CC) -o $@ $^ $(LIBVIRT_TEST_LDLIBS)
CHECK_DEPS += $(LIST_PROTECTED) $(GUEST_BINS) $(BUILD)/tests/traffic/mkregion \
	$(BUILD)/qemu-system-x86_64
CHECKS += tests/libvirt/define-start.sh
