# SPDX-License-Identifier: GPL-2.0-or-later
# The host side of the shared region, used by ftmb-vhost.

HOSTREGION_SRCS := vhost-backend/host_region.c

$(BUILD)/libhostregion.a: $(HOSTREGION_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

$(SAN)/libhostregion.a: $(HOSTREGION_SRCS:%.c=$(SAN)/%.o)
	$(AR) rcs $@ $^

LIBS += $(BUILD)/libhostregion.a
