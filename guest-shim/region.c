// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "ftmb/region.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static uint64_t pow2_ceil(uint64_t v)
{
	uint64_t p = FTMB_REGION_ALIGN;

	while (p < v)
		p <<= 1;
	return p;
}

static int is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int ftmb_region_layout(uint32_t n_threads, uint32_t ring_slots, uint32_t n_vars,
		       struct ftmb_region_geometry *geo)
{
	if (n_threads == 0 || n_threads > FTMB_MAX_THREADS)
		return FTMB_E_RANGE;
	if (!is_pow2(ring_slots) || ring_slots > FTMB_MAX_RING_SLOTS)
		return FTMB_E_RANGE;
	if (n_vars == 0 || n_vars > FTMB_MAX_VARS)
		return FTMB_E_RANGE;

	memset(geo, 0, sizeof(*geo)); /* no stray padding: geometries compare bytewise */
	geo->n_threads = n_threads;
	geo->ring_slots = ring_slots;
	geo->n_vars = n_vars;
	geo->ring_stride = align_up(sizeof(struct ftmb_ring) +
					    (uint64_t)ring_slots * sizeof(struct ftmb_record),
				    FTMB_REGION_ALIGN);
	geo->pal_rings_off = align_up(sizeof(struct ftmb_region_header), FTMB_REGION_ALIGN);
	geo->replay_rings_off = geo->pal_rings_off + n_threads * geo->ring_stride;
	geo->horizons_off = geo->replay_rings_off + n_threads * geo->ring_stride;
	geo->region_size = pow2_ceil(geo->horizons_off + (uint64_t)n_vars * sizeof(uint64_t));
	return FTMB_OK;
}

int ftmb_region_check_header(const struct ftmb_region_header *hdr, size_t map_size,
			     struct ftmb_region_geometry *geo)
{
	struct ftmb_region_header h;
	int err;

	if (map_size < sizeof(h))
		return FTMB_E_TRUNCATED;
	memcpy(&h, hdr, sizeof(h)); /* one snapshot: the region may change under us */
	if (h.magic != FTMB_REGION_MAGIC)
		return FTMB_E_MAGIC;
	if (h.version != FTMB_REGION_VERSION)
		return FTMB_E_VERSION;
	if (h.header_size != sizeof(h))
		return FTMB_E_LENGTH;
	if (h.mode > FTMB_MODE_REPLAY_UNORDERED)
		return FTMB_E_FIELD;
	err = ftmb_region_layout(h.n_threads, h.ring_slots, h.n_vars, geo);
	if (err)
		return err;
	if (h.region_size != geo->region_size || h.ring_stride != geo->ring_stride ||
	    h.pal_rings_off != geo->pal_rings_off || h.replay_rings_off != geo->replay_rings_off ||
	    h.horizons_off != geo->horizons_off)
		return FTMB_E_LAYOUT;
	if (map_size < geo->region_size)
		return FTMB_E_TRUNCATED;
	return FTMB_OK;
}

void ftmb_region_format(void *base, const struct ftmb_region_geometry *geo, enum ftmb_mode mode,
			uint64_t generation)
{
	struct ftmb_region_header *h = base;

	memset(base, 0, geo->region_size);
	h->magic = FTMB_REGION_MAGIC;
	h->version = FTMB_REGION_VERSION;
	h->header_size = sizeof(*h);
	h->region_size = geo->region_size;
	h->n_threads = geo->n_threads;
	h->mode = mode;
	h->generation = generation;
	h->ring_slots = geo->ring_slots;
	h->n_vars = geo->n_vars;
	h->ring_stride = geo->ring_stride;
	h->pal_rings_off = geo->pal_rings_off;
	h->replay_rings_off = geo->replay_rings_off;
	h->horizons_off = geo->horizons_off;
}

struct ftmb_ring *ftmb_region_pal_ring(void *base, const struct ftmb_region_geometry *geo,
				       uint32_t thread)
{
	return (struct ftmb_ring *)((char *)base + geo->pal_rings_off + thread * geo->ring_stride);
}

struct ftmb_ring *ftmb_region_replay_ring(void *base, const struct ftmb_region_geometry *geo,
					  uint32_t thread)
{
	return (struct ftmb_ring *)((char *)base + geo->replay_rings_off +
				    thread * geo->ring_stride);
}

uint64_t *ftmb_region_horizons(void *base, const struct ftmb_region_geometry *geo)
{
	return (uint64_t *)((char *)base + geo->horizons_off);
}
