// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ivshmem-poke: proves the guest image reaches an ivshmem-plain device the
 * way libftmb will: find PCI 1af4:1110 in sysfs, mmap its resource2 (BAR 2,
 * the shared memory) and write to it.
 *
 *   ivshmem-poke NONCE
 *
 * Checks that the host wrote "HOST NONCE" at offset 0, then writes
 * "GUEST NONCE" at offset 256 and, from offset 4096, 16384 little-endian
 * 32-bit words pattern(i) = (i * 2654435761) ^ NONCE, and NONCE's low 32 bits
 * in the BAR's last 4 bytes. The host checks all three.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCI_DEVICES "/sys/bus/pci/devices"
#define PATTERN_OFFSET 4096
#define PATTERN_WORDS 16384

static unsigned int read_hex(const char *dev, const char *file)
{
	char path[512];
	unsigned int v = 0;
	FILE *f;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", dev, file);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%x", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* Writes the first ivshmem device's sysfs name into name; false if none. */
static int find_ivshmem(char *name, size_t len)
{
	DIR *dir = opendir(PCI_DEVICES);
	struct dirent *e;
	int found = 0;

	if (!dir)
		return 0;
	while (!found && (e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (read_hex(e->d_name, "vendor") == 0x1af4 && read_hex(e->d_name, "device") == 0x1110) {
			snprintf(name, len, "%s", e->d_name);
			found = 1;
		}
	}
	closedir(dir);
	return found;
}

int main(int argc, char **argv)
{
	char dev[256], path[512], expect[64];
	struct stat st;
	uint64_t nonce;
	uint8_t *bar;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: ivshmem-poke NONCE\n");
		return 2;
	}
	nonce = strtoull(argv[1], NULL, 10);
	if (!find_ivshmem(dev, sizeof(dev))) {
		printf("ivshmem-poke: error: no PCI device 1af4:1110 in " PCI_DEVICES "\n");
		return 1;
	}
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/resource2", dev);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		printf("ivshmem-poke: error: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (st.st_size < PATTERN_OFFSET + PATTERN_WORDS * 4) {
		printf("ivshmem-poke: error: BAR 2 is only %lld bytes\n", (long long)st.st_size);
		return 1;
	}
	bar = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		printf("ivshmem-poke: error: mmap %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("ivshmem-poke: %s is 1af4:1110, BAR 2 is %lld bytes\n", dev, (long long)st.st_size);

	snprintf(expect, sizeof(expect), "HOST %" PRIu64, nonce);
	if (memcmp(bar, expect, strlen(expect) + 1) != 0) {
		printf("ivshmem-poke: error: expected \"%s\" at offset 0, found \"%.32s\"\n",
		       expect, (char *)bar);
		return 1;
	}
	printf("ivshmem-poke: read \"%s\"\n", expect);

	snprintf((char *)bar + 256, 64, "GUEST %" PRIu64, nonce);
	for (uint32_t i = 0; i < PATTERN_WORDS; i++) {
		uint32_t v = (i * 2654435761u) ^ (uint32_t)nonce;

		memcpy(bar + PATTERN_OFFSET + 4 * i, &v, 4);
	}
	uint32_t tail = (uint32_t)nonce;
	memcpy(bar + st.st_size - 4, &tail, 4);
	printf("ivshmem-poke: wrote the pattern\n");
	munmap(bar, st.st_size);
	close(fd);
	return 0;
}
