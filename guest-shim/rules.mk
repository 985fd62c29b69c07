# SPDX-License-Identifier: LGPL-2.1-or-later
# libftmb: the guest library, and the shared-region, record, vector-clock and
# tag contracts that the host side links too.

LIBFTMB_SRCS := guest-shim/err.c guest-shim/record.c guest-shim/region.c guest-shim/ring.c \
	guest-shim/vclock.c guest-shim/tag.c guest-shim/attach.c guest-shim/thread.c \
	guest-shim/replay.c guest-shim/lock.c guest-shim/value.c guest-shim/packet.c
LIBFTMB_HEADERS := $(wildcard guest-shim/include/ftmb/*.h)
LIBFTMB_A := $(BUILD)/libftmb.a
LIBFTMB_SO := $(BUILD)/libftmb.so

$(LIBFTMB_A): $(LIBFTMB_SRCS:%.c=$(BUILD)/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(SAN)/libftmb.a: $(LIBFTMB_SRCS:%.c=$(SAN)/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(LIBFTMB_SO): $(LIBFTMB_SRCS:%.c=$(BUILD)/%.o)
	$(CC) -shared -Wl,-soname,libftmb.so.0 -o $@ $^ -lpthread

LIBS += $(LIBFTMB_A) $(LIBFTMB_SO)
