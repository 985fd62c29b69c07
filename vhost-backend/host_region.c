// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftmb/ring.h"
#include "host_region.h"

static void reset_cursors(struct host_region *hr)
{
	memset(hr->pal_tail, 0, sizeof(hr->pal_tail));
	memset(hr->replay_head, 0, sizeof(hr->replay_head));
	for (uint32_t t = 0; t < FTMB_MAX_THREADS; t++)
		hr->next_counter[t] = 1;
}

/* Maps len bytes of fd, shared. Returns 0 or -errno. */
static int map_file(int fd, size_t len, void **base)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*base = p;
	return 0;
}

int host_region_create(struct host_region *hr, const char *path, uint32_t n_threads,
		       uint32_t ring_slots, uint32_t n_vars, enum ftmb_mode mode,
		       uint64_t generation)
{
	struct stat st;
	void *base = NULL;
	int fd, err;

	err = ftmb_region_layout(n_threads, ring_slots, n_vars, &hr->geo);
	if (err)
		return err;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (st.st_size != (off_t)hr->geo.region_size &&
				   ftruncate(fd, (off_t)hr->geo.region_size) < 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = map_file(fd, hr->geo.region_size, &base);
	close(fd);
	if (err)
		return err;
	hr->base = base;
	ftmb_region_format(base, &hr->geo, mode, generation);
	reset_cursors(hr);
	return 0;
}

int host_region_open(struct host_region *hr, const char *path, uint32_t n_threads,
		     uint32_t ring_slots, uint32_t n_vars)
{
	struct ftmb_region_geometry found;
	struct stat st;
	void *base = NULL;
	int fd, err;

	err = ftmb_region_layout(n_threads, ring_slots, n_vars, &hr->geo);
	if (err)
		return err;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (st.st_size != (off_t)hr->geo.region_size)
		err = FTMB_E_LENGTH;
	else
		err = map_file(fd, hr->geo.region_size, &base);
	close(fd);
	if (err)
		return err;
	err = ftmb_region_check_header(base, hr->geo.region_size, &found);
	if (!err && memcmp(&found, &hr->geo, sizeof(found)) != 0)
		err = FTMB_E_LAYOUT;
	if (err) {
		munmap(base, hr->geo.region_size);
		return err;
	}
	hr->base = base;
	reset_cursors(hr);
	return 0;
}

void host_region_write_cut(struct host_region *hr, const struct ftmb_cut *cut)
{
	struct ftmb_cut *slot = ftmb_region_cut(hr->base);

	memcpy((char *)slot + sizeof(slot->magic), (const char *)cut + sizeof(cut->magic),
	       sizeof(*cut) - sizeof(cut->magic));
	__atomic_store_n(&slot->magic, FTMB_CUT_MAGIC, __ATOMIC_RELEASE);
}

static int is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	return b[0] == 0 && memcmp(b, b + 1, len - 1) == 0;
}

int host_region_read_cut(const void *image, size_t len, struct ftmb_cut *cut)
{
	if (len < FTMB_REGION_CUT_OFF + sizeof(*cut))
		return FTMB_E_TRUNCATED;
	memcpy(cut, (const char *)image + FTMB_REGION_CUT_OFF, sizeof(*cut)); /* one snapshot */
	if (is_zero(cut, sizeof(*cut)))
		return FTMB_OK;
	if (cut->magic != FTMB_CUT_MAGIC)
		return FTMB_E_MAGIC;
	if (cut->reserved != 0)
		return FTMB_E_FIELD;
	if (cut->n == 0 || cut->n > FTMB_MAX_THREADS)
		return FTMB_E_COUNT;
	if (cut->epoch == 0)
		return FTMB_E_SEQ;
	for (uint32_t i = 0; i < FTMB_MAX_THREADS; i++) {
		if (i >= cut->n && (cut->in[i] || cut->pal[i]))
			return FTMB_E_FIELD;
		if (cut->in[i] >> 62 || cut->pal[i] >> 62)
			return FTMB_E_RANGE;
	}
	return FTMB_OK;
}

int host_region_pal_published(const struct host_region *hr, uint32_t t, uint64_t *counter)
{
	const struct ftmb_ring *ring;
	uint64_t unread;

	if (t >= hr->geo.n_threads)
		return FTMB_E_RANGE;
	ring = ftmb_region_pal_ring(hr->base, &hr->geo, t);
	unread = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE) - hr->pal_tail[t];
	if (unread > hr->geo.ring_slots)
		return FTMB_E_RANGE;
	*counter = host_region_pal_consumed(hr, t) + unread;
	return FTMB_OK;
}

void host_region_attach(struct host_region *hr, void *base, const struct ftmb_region_geometry *geo)
{
	hr->base = base;
	hr->geo = *geo;
	reset_cursors(hr);
}

void host_region_destroy(struct host_region *hr)
{
	if (hr->base)
		munmap(hr->base, hr->geo.region_size);
	hr->base = NULL;
}

int host_region_read_pal(struct host_region *hr, uint32_t t, struct ftmb_record *out, uint32_t max)
{
	struct ftmb_ring *ring;
	uint64_t tail;
	int n, err;

	if (t >= hr->geo.n_threads)
		return FTMB_E_RANGE;
	ring = ftmb_region_pal_ring(hr->base, &hr->geo, t);
	tail = hr->pal_tail[t];
	n = ftmb_ring_consume(ring, hr->geo.ring_slots, &tail, out, max);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		err = ftmb_record_check(&out[i], hr->next_counter[t] + (uint64_t)i, hr->geo.n_vars);
		if (err)
			return err;
	}
	hr->pal_tail[t] = tail;
	hr->next_counter[t] += (uint64_t)n;
	return n;
}

void host_region_resume_pal(struct host_region *hr, uint32_t t, uint64_t counter)
{
	struct ftmb_ring *ring = ftmb_region_pal_ring(hr->base, &hr->geo, t);

	hr->next_counter[t] = counter + 1;
	hr->pal_tail[t] = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
	__atomic_store_n(&ring->tail, hr->pal_tail[t], __ATOMIC_RELEASE);
}

int host_region_push_replay(struct host_region *hr, uint32_t t, const struct ftmb_record *recs,
			    uint32_t n)
{
	if (t >= hr->geo.n_threads)
		return FTMB_E_RANGE;
	return ftmb_ring_produce(ftmb_region_replay_ring(hr->base, &hr->geo, t),
				 hr->geo.ring_slots, &hr->replay_head[t], recs, n);
}

int host_region_resume_replay(struct host_region *hr, uint32_t t, uint64_t *head,
			      uint64_t *tail)
{
	struct ftmb_ring *ring;

	if (t >= hr->geo.n_threads)
		return FTMB_E_RANGE;
	ring = ftmb_region_replay_ring(hr->base, &hr->geo, t);
	*head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
	*tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
	if (*head != *tail)
		return FTMB_E_INDEX;
	if (*head >> 62)
		return FTMB_E_RANGE;
	hr->replay_head[t] = *head;
	__atomic_store_n(&ring->closed, 0, __ATOMIC_RELEASE);
	return FTMB_OK;
}

bool host_region_replay_drained(const struct host_region *hr, uint32_t t)
{
	const struct ftmb_ring *ring;

	if (t >= hr->geo.n_threads)
		return false;
	ring = ftmb_region_replay_ring(hr->base, &hr->geo, t);
	return __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) == hr->replay_head[t];
}

void host_region_close_replay(struct host_region *hr, uint32_t t)
{
	struct ftmb_ring *ring = ftmb_region_replay_ring(hr->base, &hr->geo, t);

	__atomic_store_n(&ring->closed, 1, __ATOMIC_RELEASE);
}

void host_region_set_horizons(struct host_region *hr, const uint64_t *horizon, uint32_t n)
{
	if (n > hr->geo.n_vars)
		n = hr->geo.n_vars;
	memcpy(ftmb_region_horizons(hr->base, &hr->geo), horizon, n * sizeof(*horizon));
}

void host_region_set_mode(struct host_region *hr, enum ftmb_mode mode)
{
	struct ftmb_region_header *h = hr->base;

	__atomic_store_n(&h->mode, (uint32_t)mode, __ATOMIC_RELEASE);
}
