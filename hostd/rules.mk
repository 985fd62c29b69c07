# SPDX-License-Identifier: GPL-2.0-or-later
# The replication codec, shared by hostd and ftmb-vhost; ftmb-hostd; ftmb-ping.

LIBREPL_SRCS := hostd/repl.c

$(BUILD)/libftmbrepl.a: $(LIBREPL_SRCS:%.c=$(BUILD)/%.o)
	$(ARCHIVE)

$(SAN)/libftmbrepl.a: $(LIBREPL_SRCS:%.c=$(SAN)/%.o)
	$(ARCHIVE)

LIBS += $(BUILD)/libftmbrepl.a

# The daemon's modules; HOSTD_UNIT_SRCS are also linked by tests/hostd, and
# HOSTD_CKPT_UNIT_SRCS (VM checkpoints: commits, the QEMU command line) by
# tests/ckpt.
HOSTD_UNIT_SRCS := hostd/logstore.c hostd/config.c hostd/net.c hostd/error.c
HOSTD_CKPT_UNIT_SRCS := hostd/commit.c hostd/vm_cmdline.c
HOSTD_SRCS := $(HOSTD_UNIT_SRCS) $(HOSTD_CKPT_UNIT_SRCS) hostd/main.c hostd/backup.c \
	hostd/instance.c hostd/monitor.c hostd/failover.c hostd/heartbeat.c hostd/control.c \
	hostd/conn.c hostd/qmp.c hostd/vm.c hostd/ckpt_recv.c hostd/vm_restore.c hostd/handover.c
# The backup reads a checkpoint's cut with the region's host side.
CFLAGS_hostd/ckpt_recv.c = -Ivhost-backend
HOSTD_LIBS = libftmbckpt.a libhostregion.a libftmbrepl.a libftmb.a
PING_SRCS := hostd/ping.c hostd/net.c hostd/config.c

HOSTD_PKGS := glib-2.0 gio-2.0 json-glib-1.0
CFLAGS_hostd/ = -DG_LOG_DOMAIN='"ftmb-hostd"' $(call pc,--cflags $(HOSTD_PKGS))
HOSTD_LDLIBS = $(call pc,--libs $(HOSTD_PKGS)) -lisal

$(BUILD)/ftmb-hostd: $(HOSTD_SRCS:%.c=$(BUILD)/%.o) $(HOSTD_LIBS:%=$(BUILD)/%)
	$(CC) -o $@ $^ $(HOSTD_LDLIBS)

$(BUILD)/ftmb-ping: $(PING_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libftmbrepl.a $(LIBFTMB_A)
	$(CC) -o $@ $^ $(HOSTD_LDLIBS) -lm

BINS += $(BUILD)/ftmb-hostd $(BUILD)/ftmb-ping

# The daemon under ASan+UBSan, for the integration check that feeds it
# hostile input (tests/hostd/check-backup.sh).
$(SAN)/ftmb-hostd: $(HOSTD_SRCS:%.c=$(SAN)/%.o) $(HOSTD_LIBS:%=$(SAN)/%)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(HOSTD_LDLIBS)

DOCS += hostd/FENCING.md hostd/CONTROL.md hostd/hostd.conf.example

# --- Checkpoints (helper "qemu"): the parser of the stream that patched QEMU
# writes (qemu-patches/), the backup's checkpoint store, restore into a fresh
# QEMU, and ftmb-ckpt, which receives a stream and restores it.
LIBCKPT_SRCS := hostd/ckpt_parser.c hostd/ckpt_store.c hostd/ckpt_restore.c
CFLAGS_hostd/ += $(call pc,--cflags json-glib-1.0)

$(BUILD)/libftmbckpt.a: $(LIBCKPT_SRCS:%.c=$(BUILD)/%.o)
	$(ARCHIVE)

$(SAN)/libftmbckpt.a: $(LIBCKPT_SRCS:%.c=$(SAN)/%.o)
	$(ARCHIVE)

$(BUILD)/ftmb-ckpt: $(BUILD)/hostd/ckpt_tool.o $(BUILD)/libftmbckpt.a
	$(CC) -o $@ $^ $(call pc,--libs json-glib-1.0) -lisal

LIBS += $(BUILD)/libftmbckpt.a
BINS += $(BUILD)/ftmb-ckpt

# --- libvirt (helper "ctl"): protected domains from libvirt's domain XML
# (libvirt_domains.h). Not in ftmb-hostd yet: a daemon that uses it links
# $(HOSTD_LIBVIRT_SRCS) with $(HOSTD_LIBVIRT_LDLIBS). Tests: tests/libvirt/.
HOSTD_LIBVIRT_SRCS := hostd/libvirt_domains.c
CFLAGS_hostd/libvirt_domains.c = $(call pc,--cflags libvirt libxml-2.0)
HOSTD_LIBVIRT_LDLIBS = $(call pc,--libs libvirt libxml-2.0)
