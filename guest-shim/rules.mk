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
	$(ARCHIVE)

$(SAN)/libftmb.a: $(LIBFTMB_SRCS:%.c=$(SAN)/%.o)
	$(ARCHIVE)

$(LIBFTMB_SO): $(LIBFTMB_SRCS:%.c=$(BUILD)/%.o)
	$(CC) -shared -Wl,-soname,libftmb.so.0 -o $@ $^ -lpthread

LIBS += $(LIBFTMB_A) $(LIBFTMB_SO)

# The example middleboxes: host binaries with both packet-I/O drivers, and
# static guest binaries (AF_PACKET only, no DPDK, no -march beyond the
# baseline so they run on any virtual CPU) for the VM image.
MB_NAMES := monitor nat
MB_COMMON := guest-shim/examples/mbox.c guest-shim/examples/pkt.c guest-shim/examples/pktio.c \
	guest-shim/examples/pktio_afpacket.c guest-shim/examples/flowtab.c guest-shim/examples/eth.c
MB_DPDK := guest-shim/examples/pktio_dpdk.c
CFLAGS_guest-shim/examples/ = $(call pc,--cflags glib-2.0)
CFLAGS_guest-shim/examples/pktio_dpdk.c = $(call pc,--cflags libdpdk)

$(BUILD)/ftmb-%: $(BUILD)/guest-shim/examples/%.o $(MB_COMMON:%.c=$(BUILD)/%.o) \
		$(MB_DPDK:%.c=$(BUILD)/%.o) $(LIBFTMB_A)
	$(CC) -o $@ $^ $(call pc,--libs glib-2.0 libdpdk) -lpthread

$(BUILD)/guest/ftmb-%: $(BUILD)/guest-shim/examples/%.o $(MB_COMMON:%.c=$(BUILD)/%.o) $(LIBFTMB_A)
	@mkdir -p $(@D)
	$(CC) -static -o $@ $^ $(call pc,--static --libs glib-2.0) -lpthread

BINS += $(MB_NAMES:%=$(BUILD)/ftmb-%)
GUEST_BINS := $(MB_NAMES:%=$(BUILD)/guest/ftmb-%)
guest-bins: $(GUEST_BINS)
.PHONY: guest-bins
