# SPDX-License-Identifier: GPL-2.0-or-later
# ftmb-vhost: the DPDK vhost-user backend (input logger, output logger with
# parallel release, replay feeder), and the host side of the shared region.

HOSTREGION_SRCS := vhost-backend/host_region.c

$(BUILD)/libhostregion.a: $(HOSTREGION_SRCS:%.c=$(BUILD)/%.o)
	$(ARCHIVE)

$(SAN)/libhostregion.a: $(HOSTREGION_SRCS:%.c=$(SAN)/%.o)
	$(ARCHIVE)

LIBS += $(BUILD)/libhostregion.a

# The pure logic, unit-tested without EAL (rss.c needs only DPDK headers).
VHOST_CORE_SRCS := vhost-backend/inst_config.c vhost-backend/release.c vhost-backend/sendbuf.c \
	vhost-backend/rss.c vhost-backend/replay_log.c vhost-backend/stats.c vhost-backend/idle.c
VHOST_SRCS := $(VHOST_CORE_SRCS) vhost-backend/repl_link.c vhost-backend/instance.c \
	vhost-backend/datapath.c vhost-backend/cut.c vhost-backend/replay.c vhost-backend/report.c \
	vhost-backend/trace.c vhost-backend/announce.c \
	vhost-backend/main.c

CFLAGS_vhost-backend/ = $(call pc,--cflags libdpdk glib-2.0 json-glib-1.0)
VHOST_LDLIBS = $(call pc,--libs libdpdk json-glib-1.0 glib-2.0) -lisal -lpthread

# rm first: ar keeps members that are no longer listed (a renamed source).
$(BUILD)/libvhostcore.a: $(VHOST_CORE_SRCS:%.c=$(BUILD)/%.o)
	$(ARCHIVE)

$(SAN)/libvhostcore.a: $(VHOST_CORE_SRCS:%.c=$(SAN)/%.o)
	$(ARCHIVE)

$(BUILD)/ftmb-vhost: $(VHOST_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libhostregion.a \
		$(BUILD)/libftmbrepl.a $(BUILD)/libftmb.a
	$(CC) -o $@ $^ $(VHOST_LDLIBS)

LIBS += $(BUILD)/libvhostcore.a
BINS += $(BUILD)/ftmb-vhost
