// SPDX-License-Identifier: LGPL-2.1-or-later
/* Finding and mapping the shared region. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110

static int read_hex_file(const char *path, unsigned *val)
{
	FILE *fp = fopen(path, "re");
	int ok;

	if (!fp)
		return -errno;
	ok = fscanf(fp, "%x", val) == 1;
	fclose(fp);
	return ok ? 0 : -EINVAL;
}

/* The BAR 2 resource file of the first ivshmem-plain device, as in a VM. */
static int find_ivshmem(char *path, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int err = -ENODEV;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char p[512];
		unsigned vendor, device;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (read_hex_file(p, &vendor) || vendor != IVSHMEM_VENDOR)
			continue;
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", e->d_name);
		if (read_hex_file(p, &device) || device != IVSHMEM_DEVICE)
			continue;
		snprintf(path, len, "/sys/bus/pci/devices/%s/resource2", e->d_name);
		err = 0;
		break;
	}
	closedir(d);
	return err;
}

static int map_region(const char *path, struct ftmb *f)
{
	struct stat st;
	void *base;
	int fd, err;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		err = st.st_size <= 0 ? -EINVAL : -errno;
		close(fd);
		return err;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = -errno;
	close(fd);
	if (base == MAP_FAILED)
		return err;
	f->base = base;
	f->map_size = (size_t)st.st_size;
	return 0;
}

int ftmb_attach(const char *path, struct ftmb **out)
{
	char found[512];
	struct ftmb *f;
	int err;

	if (!path)
		path = getenv("FTMB_REGION");
	if (!path) {
		err = find_ivshmem(found, sizeof(found));
		if (err)
			return err;
		path = found;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	err = map_region(path, f);
	if (!err)
		err = ftmb_region_check_header(f->base, f->map_size, &f->geo);
	if (!err) {
		f->vars = calloc(f->geo.n_vars, sizeof(*f->vars));
		if (!f->vars)
			err = -ENOMEM;
	}
	if (err) {
		ftmb_detach(f);
		return err;
	}
	f->hdr = f->base;
	f->horizons = ftmb_region_horizons(f->base, &f->geo);
	pthread_mutex_init(&f->vars_lock, NULL);
	*out = f;
	return 0;
}

void ftmb_detach(struct ftmb *f)
{
	if (!f)
		return;
	if (f->vars)
		for (uint32_t i = 0; i < f->geo.n_vars; i++)
			free(f->vars[i]);
	free(f->vars);
	if (f->base)
		munmap(f->base, f->map_size);
	free(f);
}

uint32_t ftmb_n_threads(const struct ftmb *f)
{
	return f->geo.n_threads;
}

enum ftmb_mode ftmb_mode(const struct ftmb *f)
{
	return shim_mode(f);
}
