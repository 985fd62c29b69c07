# SPDX-License-Identifier: GPL-2.0-or-later
# The replication codec, shared by hostd and ftmb-vhost.

LIBREPL_SRCS := hostd/repl.c

$(BUILD)/libftmbrepl.a: $(LIBREPL_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

$(SAN)/libftmbrepl.a: $(LIBREPL_SRCS:%.c=$(SAN)/%.o)
	$(AR) rcs $@ $^

LIBS += $(BUILD)/libftmbrepl.a
