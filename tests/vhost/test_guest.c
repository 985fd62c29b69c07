// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test-guest: a stand-in middlebox for ftmb-vhost's tests, in host-process
 * mode (DPDK virtio-user port 0 to ftmb-vhost's socket). Thread t serves
 * queue pair t; here one loop plays all threads, which is enough to give
 * ftmb-vhost real PAL rings, input tags and output tags to check.
 *
 * Per frame in mode ftmb: check and strip the input tag, access one shared
 * variable (the flow id modulo vars) through a PAL, stamp the test payload
 * with (thread, out_seq), append the output tag, send it back on the same
 * queue. With --log, writes one line per input and per output:
 *   in  Q SEQ HASH
 *   out T OUT_SEQ IN[0..n-1] PAL[0..n-1]     (the output's dep vector)
 * In replay (the region's mode), each thread's k-th access takes the logged
 * record from its replay ring, until the ring is closed and empty.
 *
 * --hostile KIND after --after N frames breaks one contract, to check that
 * ftmb-vhost cuts this guest off: garbage (a bad PAL record), ringindex
 * (an impossible PAL ring head), badtag, depin, deppal, backwards (out_seq),
 * skip (a SKIP record naming inputs never handed to the guest).
 *
 *   test-guest EAL... --vdev net_virtio_user0,path=SOCK,queues=N -- \
 *       --mode off|ftmb --queues N [--region FILE] [--log FILE]
 *       [--hostile KIND --after N] [--perturb-replay] [--cross-tx]
 * --cross-tx sends thread t's outputs on TX queue t + 1 (a VM's kernel may
 * pick any TX queue): ftmb-vhost must still find each output's thread.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "ftmb/region.h"
#include "ftmb/ring.h"
#include "ftmb/tag.h"
#include "ftmb/testpkt.h"
#include "idle.h"
#include "tport.h"

#define BURST 32
#define PAYLOAD_OFF (14 + 20 + 8)

struct guest {
	bool ftmb;
	uint16_t n;
	const char *hostile;
	uint64_t hostile_after;
	bool hostile_done;
	bool pal_frozen; /* ringindex: the bogus head must stay visible */
	bool perturb;
	bool cross_tx; /* thread t sends on TX queue t + 1 (mod n) */
	FILE *log;

	void *base;
	struct ftmb_region_geometry geo;
	bool replay;
	uint64_t pal_head[FTMB_MAX_THREADS];
	uint64_t replay_tail[FTMB_MAX_THREADS];
	bool thread_free[FTMB_MAX_THREADS];

	uint64_t events[FTMB_MAX_THREADS];
	uint64_t outs[FTMB_MAX_THREADS];
	uint64_t last_in[FTMB_MAX_THREADS];
	struct ftmb_vclock tvc[FTMB_MAX_THREADS];
	struct ftmb_vclock *var_vc;
	uint64_t *var_seq;

	uint64_t rx, tx, bad_tags, replayed, var_mismatch;
};

static void die(const char *msg)
{
	fprintf(stderr, "test-guest: %s\n", msg);
	exit(1);
}

static void attach_region(struct guest *g, const char *path)
{
	struct ftmb_region_header hdr;
	struct stat st;
	int fd = open(path, O_RDWR);

	if (fd < 0 || fstat(fd, &st) < 0 || pread(fd, &hdr, sizeof(hdr), 0) != sizeof(hdr))
		die("cannot read the region");
	if (ftmb_region_check_header(&hdr, (size_t)st.st_size, &g->geo))
		die("region header invalid");
	g->base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (g->base == MAP_FAILED)
		die("cannot map the region");
	if (g->geo.n_threads != g->n)
		die("region thread count differs from --queues");
	g->replay = hdr.mode == FTMB_MODE_REPLAY;
	g->var_vc = calloc(g->geo.n_vars, sizeof(*g->var_vc));
	g->var_seq = calloc(g->geo.n_vars, sizeof(*g->var_seq));
	if (!g->var_vc || !g->var_seq)
		die("out of memory");
}

static void pause_briefly(void)
{
	struct timespec ts = { 0, 2000 };

	nanosleep(&ts, NULL);
}

/* The next logged record of thread t, waiting for the host to publish it;
 * false once the ring is closed and drained (the thread runs free). */
static bool next_replay_record(struct guest *g, uint16_t t, struct ftmb_record *rec)
{
	struct ftmb_ring *ring = ftmb_region_replay_ring(g->base, &g->geo, t);

	while (!tport_quit) {
		int closed = __atomic_load_n(&ring->closed, __ATOMIC_ACQUIRE);
		int k = ftmb_ring_consume(ring, g->geo.ring_slots, &g->replay_tail[t], rec, 1);

		if (k == 1)
			return true;
		if (k < 0)
			die("replay ring corrupted");
		if (closed)
			break;
		pause_briefly();
	}
	g->thread_free[t] = true;
	return false;
}

static void publish_pal(struct guest *g, uint16_t t, const struct ftmb_record *rec)
{
	struct ftmb_ring *ring = ftmb_region_pal_ring(g->base, &g->geo, t);

	if (g->pal_frozen)
		return;
	while (!tport_quit) {
		int k = ftmb_ring_produce(ring, g->geo.ring_slots, &g->pal_head[t], rec, 1);

		if (k == 1)
			return;
		if (k < 0)
			die("PAL ring tail impossible: the host is not draining");
		pause_briefly();
	}
}

/* Thread t's access to shared variable v: log it and carry dependencies. */
static void shared_access(struct guest *g, uint16_t t, uint32_t v)
{
	struct ftmb_record rec = { .type = FTMB_REC_PAL, .var = v, .counter = ++g->events[t] };
	struct ftmb_record logged;

	if (g->replay && !g->thread_free[t] && next_replay_record(g, t, &logged)) {
		g->replayed++;
		if (logged.var != v && g->var_mismatch++ < 5)
			fprintf(stderr, "test-guest: thread %u event %" PRIu64
					": logged var %u, this run var %u\n",
				t, rec.counter, logged.var, v);
		rec.var = v = logged.var;
		rec.seq = logged.seq;
		if (g->var_seq[v] < logged.seq)
			g->var_seq[v] = logged.seq;
	} else {
		rec.seq = ++g->var_seq[v];
	}
	if (g->perturb && g->replay && rec.counter == 5)
		rec.seq += 1000;
	ftmb_vc_merge(&g->tvc[t], &g->var_vc[v], g->n);
	g->tvc[t].pal[t] = rec.counter;
	g->var_vc[v] = g->tvc[t];
	publish_pal(g, t, &rec);
}

static uint64_t fnv1a(const uint8_t *p, uint32_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static struct ftmb_testpkt *testpkt_of(uint8_t *frame, uint32_t len)
{
	struct ftmb_testpkt *tp;

	if (len < PAYLOAD_OFF + sizeof(*tp))
		return NULL;
	tp = (struct ftmb_testpkt *)(frame + PAYLOAD_OFF);
	return tp->magic == FTMB_TESTPKT_MAGIC ? tp : NULL;
}

/* The contract breaches of --hostile, applied to one output. */
static void misbehave(struct guest *g, uint16_t t, uint64_t *out_seq, struct ftmb_vclock *dep)
{
	const char *k = g->hostile;

	g->hostile_done = true;
	fprintf(stderr, "test-guest: turning hostile: %s\n", k);
	if (!strcmp(k, "garbage")) {
		struct ftmb_ring *ring = ftmb_region_pal_ring(g->base, &g->geo, 0);
		uint8_t *slot = (uint8_t *)&ring->slot[g->pal_head[0] & (g->geo.ring_slots - 1)];

		for (size_t i = 0; i < sizeof(struct ftmb_record); i++)
			slot[i] = (uint8_t)(0xa5 ^ i * 37);
		__atomic_store_n(&ring->head, ++g->pal_head[0], __ATOMIC_RELEASE);
	} else if (!strcmp(k, "ringindex")) {
		struct ftmb_ring *ring = ftmb_region_pal_ring(g->base, &g->geo, 0);

		__atomic_store_n(&ring->head, g->pal_head[0] + 10ull * g->geo.ring_slots,
				 __ATOMIC_RELEASE);
		g->pal_frozen = true;
	} else if (!strcmp(k, "depin")) {
		dep->in[t] += 1000;
	} else if (!strcmp(k, "deppal")) {
		dep->pal[t] += 1000;
	} else if (!strcmp(k, "backwards")) {
		*out_seq = 1;
	} else if (!strcmp(k, "skip")) { /* inputs never handed to the guest */
		struct ftmb_record rec = { .type = FTMB_REC_SKIP, .var = 0,
					   .counter = ++g->events[0], .seq = g->last_in[0] + 1,
					   .value = 1000 };

		publish_pal(g, 0, &rec);
	}
}

/* Turns a received frame into the output; false to drop it. */
static bool process_ftmb(struct guest *g, uint16_t q, struct rte_mbuf *m)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct ftmb_in_tag tag = { 0 };
	struct ftmb_testpkt *tp;
	struct ftmb_vclock dep;
	uint64_t out_seq;
	uint16_t t = q;
	int len;

	int rc = ftmb_in_tag_parse(frame, m->pkt_len, &tag);

	if (rc || tag.queue != q || tag.seq != g->last_in[q] + 1) {
		if (g->bad_tags++ < 5)
			fprintf(stderr, "test-guest: queue %u: bad input tag (%s, queue %u seq %" PRIu64
					", last seq %" PRIu64 ", frame of %u bytes)\n",
				q, ftmb_strerror(rc), tag.queue, tag.seq, g->last_in[q], m->pkt_len);
		return false;
	}
	g->last_in[q] = tag.seq;
	rte_pktmbuf_trim(m, FTMB_IN_TAG_LEN);
	if (g->log)
		fprintf(g->log, "in %u %" PRIu64 " %016" PRIx64 "\n", q, tag.seq,
			fnv1a(frame, m->pkt_len));
	if (g->tvc[t].in[q] < tag.seq)
		g->tvc[t].in[q] = tag.seq;
	tp = testpkt_of(frame, m->pkt_len);
	shared_access(g, t, tp ? tp->flow % g->geo.n_vars : 0);
	out_seq = ++g->outs[t];
	dep = g->tvc[t];
	if (g->hostile && !g->hostile_done && g->rx > g->hostile_after)
		misbehave(g, t, &out_seq, &dep);
	if (tp) {
		tp->mb_global = out_seq;
		tp->mb_flow = t;
	}
	len = ftmb_out_tag_append(frame, m->pkt_len, m->pkt_len + rte_pktmbuf_tailroom(m), t,
				  out_seq, &dep, g->n);
	if (len < 0)
		return false;
	if (g->hostile && !strcmp(g->hostile, "badtag") && g->hostile_done)
		frame[len - 1] ^= 0xff;
	rte_pktmbuf_append(m, (uint16_t)(len - (int)m->pkt_len));
	if (g->log) {
		fprintf(g->log, "out %u %" PRIu64, t, out_seq);
		for (uint16_t i = 0; i < g->n; i++)
			fprintf(g->log, " %" PRIu64, dep.in[i]);
		for (uint16_t i = 0; i < g->n; i++)
			fprintf(g->log, " %" PRIu64, dep.pal[i]);
		fputc('\n', g->log);
	}
	return true;
}

static uint64_t serve_queue(struct guest *g, uint16_t q)
{
	struct rte_mbuf *pkts[BURST], *out[BURST];
	uint16_t n = rte_eth_rx_burst(0, q, pkts, BURST), k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		g->rx++;
		if (rte_pktmbuf_linearize(m) || (g->ftmb && !process_ftmb(g, q, m))) {
			rte_pktmbuf_free(m);
			continue;
		}
		out[k++] = m;
	}
	if (k)
		g->tx += k - tport_send_all(0, g->cross_tx ? (q + 1) % g->n : q, out, k, 1000);
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: test-guest EAL... --vdev net_virtio_user0,path=SOCK,queues=N -- "
			"--mode off|ftmb --queues N [--region FILE] [--log FILE] "
			"[--hostile KIND --after N] [--perturb-replay] [--cross-tx]\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct guest *g, const char **region,
		       const char **log)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },   { "queues", required_argument, NULL, 'q' },
		{ "region", required_argument, NULL, 'r' }, { "log", required_argument, NULL, 'l' },
		{ "hostile", required_argument, NULL, 'h' }, { "after", required_argument, NULL, 'a' },
		{ "perturb-replay", no_argument, NULL, 'p' }, { "cross-tx", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	g->n = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': g->ftmb = !strcmp(optarg, "ftmb"); break;
		case 'q': g->n = (uint16_t)atoi(optarg); break;
		case 'r': *region = optarg; break;
		case 'l': *log = optarg; break;
		case 'h': g->hostile = optarg; break;
		case 'a': g->hostile_after = strtoull(optarg, NULL, 10); break;
		case 'p': g->perturb = true; break;
		case 'x': g->cross_tx = true; break;
		default: usage();
		}
	}
	if (g->n == 0 || g->n > FTMB_MAX_THREADS || (g->ftmb && !*region))
		usage();
}

int main(int argc, char **argv)
{
	static struct guest g;
	const char *region = NULL, *log = NULL;
	struct rte_mempool *pool;
	struct idle idle = { 0 };
	int rc = rte_eal_init(argc, argv);

	if (rc < 0)
		die("EAL initialisation failed");
	parse_args(argc - rc, argv + rc, &g, &region, &log);
	tport_signals();
	idle_setup();
	if (g.ftmb)
		attach_region(&g, region);
	if (log && !(g.log = fopen(log, "w")))
		die("cannot open the log file");
	pool = rte_pktmbuf_pool_create("guest", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (!pool || rte_eth_dev_count_avail() < 1)
		die("no mbuf pool or no virtio-user port");
	tport_start(0, g.n, pool);
	/* The port is started (its RX rings flushed): input may come. */
	for (uint16_t q = 0; g.ftmb && q < g.n; q++)
		__atomic_store_n(&ftmb_region_ready(g.base)[q], 1u, __ATOMIC_RELEASE);
	fprintf(stderr, "test-guest: ready, mode %s, %u queues%s\n", g.ftmb ? "ftmb" : "off", g.n,
		g.replay ? ", replaying" : "");
	while (!tport_quit) {
		uint64_t work = 0;

		for (uint16_t q = 0; q < g.n; q++)
			work += serve_queue(&g, q);
		idle_step(&idle, work);
	}
	if (g.log)
		fclose(g.log);
	printf("test-guest: rx %" PRIu64 " tx %" PRIu64 " bad_input_tags %" PRIu64
	       " replayed_records %" PRIu64 " replay_var_mismatches %" PRIu64 "\n",
	       g.rx, g.tx, g.bad_tags, g.replayed, g.var_mismatch);
	rte_eth_dev_stop(0);
	rte_eal_cleanup();
	return 0;
}
