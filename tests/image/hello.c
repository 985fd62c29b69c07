// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hello: the guest image's smoke test, run by ftmb-init (ftmb.run=hello,...).
 *
 *   hello [--count N] [--exit S] [--nic] [--queues Q]
 *
 * Prints a greeting, counts to N, checks that /dev/shm is a tmpfs and, with
 * --nic, that eth0 exists and is up; with --queues, that eth0 has Q receive
 * and Q transmit queues. Exits with S when every check passed (so the host
 * can see the status travel through ftmb-init), 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("hello: error: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

static void check_shm(void)
{
	struct statfs st;

	if (statfs("/dev/shm", &st) < 0)
		fail("statfs /dev/shm: %s", strerror(errno));
	else if (st.f_type != TMPFS_MAGIC)
		fail("/dev/shm is not a tmpfs (f_type 0x%lx)", (unsigned long)st.f_type);
	else
		printf("hello: /dev/shm is a tmpfs\n");
}

static void check_nic(void)
{
	FILE *f = fopen("/sys/class/net/eth0/flags", "r");
	unsigned int flags;

	if (!f) {
		fail("no eth0: %s", strerror(errno));
		return;
	}
	if (fscanf(f, "%x", &flags) != 1)
		fail("cannot read eth0's flags");
	else if (!(flags & 0x1))
		fail("eth0 is down (flags 0x%x)", flags);
	else
		printf("hello: eth0 is up\n");
	fclose(f);
}

/* Counts the rx-N and tx-N entries of /sys/class/net/eth0/queues. */
static void check_queues(int want)
{
	DIR *dir = opendir("/sys/class/net/eth0/queues");
	struct dirent *e;
	int rx = 0, tx = 0;

	if (!dir) {
		fail("no eth0 queues: %s", strerror(errno));
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		rx += strncmp(e->d_name, "rx-", 3) == 0;
		tx += strncmp(e->d_name, "tx-", 3) == 0;
	}
	closedir(dir);
	printf("hello: eth0 has %d rx and %d tx queues\n", rx, tx);
	if (rx != want || tx != want)
		fail("expected %d rx and %d tx queues", want, want);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "exit", required_argument, NULL, 'e' },
		{ "nic", no_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	int count = 3, status = 0, nic = 0, queues = 0, opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'c': count = atoi(optarg); break;
		case 'e': status = atoi(optarg); break;
		case 'n': nic = 1; break;
		case 'q': queues = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: hello [--count N] [--exit S] [--nic] [--queues Q]\n");
			return 2;
		}
	}

	printf("hello from the ftmb guest image\n");
	for (int i = 1; i <= count; i++)
		printf("hello: %d\n", i);
	check_shm();
	if (nic)
		check_nic();
	if (queues)
		check_queues(queues);
	return failures ? 1 : status;
}
