// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest program of the checkpoint round trip (tests/qemu/roundtrip.py).
 *
 * Counts, one step every 10 ms of guest time. Each step stores the count in
 * RAM right after a marker the host finds in a dump of guest RAM, prints
 * "TICK <count>" on the console, and rewrites a few pages of a 4 MiB buffer
 * so that every checkpoint has dirty pages to carry. Restored from a
 * checkpoint, it continues from the count the checkpoint holds.
 *
 * Runs as ftmb-init's program, or as /init itself in a bare initramfs.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DIRTY_BUF (4u << 20)
#define DIRTY_PER_STEP 8u
#define PAGE 4096u

/* The marker is assembled at run time so that it appears in guest RAM only
 * here, not also in the program's image. */
struct counter {
	char marker[16]; /* "FTMB-CKPT-COUNT" */
	volatile uint64_t count;
	volatile uint64_t check; /* ~count, for the host to trust what it found */
};

static struct counter state;
static uint8_t dirty[DIRTY_BUF];

static void set_marker(void)
{
	static const char scrambled[] = "GUNC.DLQU.DPVOU";

	for (size_t i = 0; i < sizeof(scrambled) - 1; i++)
		state.marker[i] = (char)(scrambled[i] - 1);
}

static void step(void)
{
	char line[48];
	uint64_t n = state.count + 1;
	int len;

	state.count = n;
	state.check = ~n;
	for (unsigned int i = 0; i < DIRTY_PER_STEP; i++) {
		size_t page = (n * DIRTY_PER_STEP + i) % (DIRTY_BUF / PAGE);

		memset(dirty + page * PAGE, (int)(n & 0xff), PAGE);
	}
	len = snprintf(line, sizeof(line), "TICK %" PRIu64 "\n", n);
	if (write(STDOUT_FILENO, line, (size_t)len) < 0)
		_exit(1);
}

int main(void)
{
	const struct timespec period = { .tv_nsec = 10 * 1000 * 1000 };

	if (getpid() == 1) { /* bare initramfs: the console is ours to open */
		int fd = open("/dev/console", O_WRONLY);

		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
	}
	set_marker();
	for (;;) {
		step();
		nanosleep(&period, NULL);
	}
}
