# SPDX-License-Identifier: GPL-2.0-or-later

# --- test traffic (helper "traffic"; tools/traffic/README.md) ------------------
# ftmb-traffic (generator/sink) and ftmb-verify (the correctness verifier).
#
# libtesttraffic: test frames, sink record files, latency histograms, per-flow
# sequence tracking, pacing and idle backoff; no DPDK, shared by ftmb-traffic,
# ftmb-verify and their tests.

TESTTRAFFIC_SRCS := tools/testtraffic/frame.c tools/testtraffic/sinkrec.c \
	tools/testtraffic/lathist.c tools/testtraffic/flowtrack.c tools/testtraffic/pacer.c \
	tools/testtraffic/backoff.c tools/testtraffic/jsonout.c
TRAFFIC_SRCS := tools/traffic/main.c tools/traffic/options.c tools/traffic/port.c \
	tools/traffic/run.c tools/traffic/report.c
VERIFY_SRCS := tools/verify/main.c tools/verify/verify.c

CFLAGS_tools/testtraffic/ = $(call pc,--cflags glib-2.0 json-glib-1.0)
CFLAGS_tools/traffic/ = -Itools/testtraffic $(call pc,--cflags libdpdk glib-2.0 json-glib-1.0)
CFLAGS_tools/verify/ = -Itools/testtraffic $(call pc,--cflags glib-2.0 json-glib-1.0)
TESTTRAFFIC_LDLIBS = $(call pc,--libs glib-2.0) -lm

$(BUILD)/libtesttraffic.a: $(TESTTRAFFIC_SRCS:%.c=$(BUILD)/%.o)
	$(ARCHIVE)

$(SAN)/libtesttraffic.a: $(TESTTRAFFIC_SRCS:%.c=$(SAN)/%.o)
	$(ARCHIVE)

$(BUILD)/ftmb-traffic: $(TRAFFIC_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libtesttraffic.a
	$(CC) -o $@ $^ $(call pc,--libs libdpdk json-glib-1.0) $(TESTTRAFFIC_LDLIBS)

$(BUILD)/ftmb-verify: $(VERIFY_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libtesttraffic.a
	$(CC) -o $@ $^ $(call pc,--libs json-glib-1.0) $(TESTTRAFFIC_LDLIBS)

# ftmb-records: record files as text, for plots.
CFLAGS_tools/records/ = -Itools/testtraffic $(call pc,--cflags glib-2.0)

$(BUILD)/ftmb-records: $(BUILD)/tools/records/main.o $(BUILD)/libtesttraffic.a
	$(CC) -o $@ $^ $(TESTTRAFFIC_LDLIBS)

LIBS += $(BUILD)/libtesttraffic.a
BINS += $(BUILD)/ftmb-traffic $(BUILD)/ftmb-verify $(BUILD)/ftmb-records

# --- guest image (helper "image"; tools/mkimage.sh) ---------------------------
# `make image` builds the cached guest kernel and initramfs holding every
# static program in $(BUILD)/guest/ (GUEST_BINS lists the ones make builds)
# and links them as $(BUILD)/image/vmlinux and $(BUILD)/image/initrd.img.
# mkimage.sh keys its cache on every input, so it always runs and returns
# within a couple of seconds when nothing changed.
image: $(GUEST_BINS)
	tools/mkimage.sh --bin-dir $(BUILD)/guest --out $(BUILD)/image
.PHONY: image

# --- ftmbctl (helper "ctl"; tools/ftmbctl/README.md) --------------------------
# The operator CLI: ftmb-hostd's control socket (hostd/CONTROL.md) as tables,
# or as JSON with --json.
FTMBCTL_SRCS := tools/ftmbctl/main.c tools/ftmbctl/client.c tools/ftmbctl/fields.c \
	tools/ftmbctl/table.c tools/ftmbctl/show_status.c tools/ftmbctl/show_stats.c \
	tools/ftmbctl/show_actions.c
FTMBCTL_PKGS := glib-2.0 gio-2.0 gio-unix-2.0 json-glib-1.0
CFLAGS_tools/ftmbctl/ = $(call pc,--cflags $(FTMBCTL_PKGS))

$(BUILD)/ftmbctl: $(FTMBCTL_SRCS:%.c=$(BUILD)/%.o)
	$(CC) -o $@ $^ $(call pc,--libs $(FTMBCTL_PKGS)) -lm

# Under ASan+UBSan for tests/ctl/check-ctl.sh.
$(SAN)/ftmbctl: $(FTMBCTL_SRCS:%.c=$(SAN)/%.o)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc,--libs $(FTMBCTL_PKGS)) -lm

BINS += $(BUILD)/ftmbctl

# --- make demo (helper "demo"; tools/demo/demo.sh) ----------------------------
# The README's first command: installs what is missing, builds what the demo
# runs (the patched QEMU from its cache, the guest programs for the cached
# image), then kills the host of a protected NAT VM under traffic and prints
# the recovery timeline, the verifier's verdict and latency, and a plot.
DEMO_DEPS = $(BUILD)/qemu-system-x86_64 $(GUEST_BINS) $(BUILD)/ftmb-hostd $(BUILD)/ftmb-vhost \
	$(BUILD)/ftmb-traffic $(BUILD)/ftmb-verify $(BUILD)/ftmb-records $(BUILD)/ftmbctl

demo: deps
	@$(MAKE) -s --no-print-directory $(DEMO_DEPS)
	@BUILD=$(BUILD) tools/demo/demo.sh
.PHONY: demo
