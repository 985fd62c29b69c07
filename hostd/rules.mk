# SPDX-License-Identifier: GPL-2.0-or-later
# The replication codec, shared by hostd and ftmb-vhost.

LIBREPL_SRCS := hostd/repl.c

$(BUILD)/libftmbrepl.a: $(LIBREPL_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

$(SAN)/libftmbrepl.a: $(LIBREPL_SRCS:%.c=$(SAN)/%.o)
	$(AR) rcs $@ $^

LIBS += $(BUILD)/libftmbrepl.a

# --- Checkpoints (helper "qemu"): the parser of the stream that patched QEMU
# writes (qemu-patches/), the backup's checkpoint store, restore into a fresh
# QEMU, and ftmb-ckpt, which receives a stream and restores it.
LIBCKPT_SRCS := hostd/ckpt_parser.c hostd/ckpt_store.c hostd/ckpt_restore.c
CFLAGS_hostd/ += $(call pc,--cflags json-glib-1.0)

$(BUILD)/libftmbckpt.a: $(LIBCKPT_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

$(SAN)/libftmbckpt.a: $(LIBCKPT_SRCS:%.c=$(SAN)/%.o)
	$(AR) rcs $@ $^

$(BUILD)/ftmb-ckpt: $(BUILD)/hostd/ckpt_tool.o $(BUILD)/libftmbckpt.a
	$(CC) -o $@ $^ $(call pc,--libs json-glib-1.0) -lisal

LIBS += $(BUILD)/libftmbckpt.a
BINS += $(BUILD)/ftmb-ckpt
