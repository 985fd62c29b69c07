// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "mbox.h"
#include "pktio.h"

static volatile sig_atomic_t stopping;
static unsigned workers_ready; /* atomic: workers set up and about to poll */

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Polling threads share two cores with ftmb-vhost and the traffic source:
 * after a run of empty polls, sleep, doubling up to 50 us; or, with a
 * driver that can wake on arrival, wait for the next frame (checking
 * for the end now and then). */
static void idle_backoff(struct mbox_thread *t, unsigned *idle)
{
	struct pktio *io = t->mb->io;
	struct timespec ts = { 0, 0 };

	if (++*idle < 64)
		return;
	if (io->drv->wait) {
		io->drv->wait(io, t->idx, 10000);
		return;
	}
	ts.tv_nsec = 1000L << (*idle - 64 < 6 ? *idle - 64 : 6);
	if (ts.tv_nsec > 50000)
		ts.tv_nsec = 50000;
	nanosleep(&ts, NULL);
}

/* Sends every frame of a burst, waiting while the TX ring is full (the
 * host is not taking outputs: its external port or its backup is behind),
 * until the run stops. An output is never dropped for lack of room: it is
 * numbered and its effects are in the shared state already, and whether a
 * ring is full depends on timing, so a primary and its replica would drop
 * different outputs; the network would lose packets that no failover
 * explains, and a counter or a NAT mapping that only a dropped output
 * showed would be seen first from the other copy. Waiting is backpressure:
 * the thread takes no input meanwhile, and the host holds or refuses new
 * input before the guest (its RX rings fill). */
static void send_all(struct mbox_thread *t, struct pktio_buf *out, uint32_t n)
{
	struct pktio *io = t->mb->io;
	uint32_t done = 0, wait_us = 1;

	for (;;) {
		done += pktio_tx(io, t->idx, out + done, n - done);
		if (done == n || stopping)
			break;
		t->tx_waits++;
		nanosleep(&(struct timespec){ 0, (long)wait_us * 1000 }, NULL);
		if (wait_us < 1000)
			wait_us *= 2;
	}
	t->tx += done;
	t->tx_failed += n - done;
	for (; done < n; done++)
		pktio_drop(io, t->idx, &out[done]);
}

static void handle_burst(struct mbox_thread *t, struct pktio_buf *bufs, uint32_t n)
{
	struct pktio *io = t->mb->io;
	struct pktio_buf out[PKTIO_BURST];
	uint32_t n_out = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct pktio_buf *b = &bufs[i];
		int len = ftmb_rx(t->ft, b->data, b->len);

		if (len < 0) {
			if (len == FTMB_E_SKIPPED)
				t->skipped++;
			else
				t->untagged++;
			pktio_drop(io, t->idx, b);
			continue;
		}
		b->len = (uint32_t)len;
		if (!t->mb->ops->process(t, b->data, &b->len, b->room)) {
			t->dropped++;
			pktio_drop(io, t->idx, b);
			continue;
		}
		len = ftmb_tx(t->ft, b->data, b->len, b->room);
		if (len < 0) {
			t->dropped++;
			pktio_drop(io, t->idx, b);
			continue;
		}
		b->len = (uint32_t)len;
		out[n_out++] = *b;
	}
	if (n_out)
		send_all(t, out, n_out);
}

static void *worker_main(void *arg)
{
	struct mbox_thread *t = arg;
	struct pktio_buf bufs[PKTIO_BURST];
	unsigned idle = 0;
	int err;

	prctl(PR_SET_TIMERSLACK, 1UL);
	err = t->mb->io->drv->thread_init(t->mb->io, t->idx);
	if (!err)
		err = ftmb_thread_register(t->mb->ftmb, t->idx, &t->ft);
	if (!err && t->mb->ops->thread_setup)
		err = t->mb->ops->thread_setup(t);
	if (err) {
		fprintf(stderr, "%s: thread %u: setup failed: %s\n", t->mb->ops->name, t->idx,
			ftmb_strerror(err));
		stopping = 1;
		return NULL;
	}
	__atomic_add_fetch(&workers_ready, 1, __ATOMIC_RELEASE);
	while (!stopping) {
		uint32_t n = pktio_rx(t->mb->io, t->idx, bufs, PKTIO_BURST);

		if (!n) {
			idle_backoff(t, &idle);
			continue;
		}
		idle = 0;
		t->rx += n;
		handle_burst(t, bufs, n);
	}
	return NULL;
}

static void print_summary(const struct mbox *mb, gboolean json)
{
	for (uint32_t i = 0; i < mb->n_threads; i++) {
		const struct mbox_thread *t = &mb->threads[i];
		struct ftmb_thread_stats st = { 0 };

		if (t->ft)
			ftmb_thread_stats(t->ft, &st);
		if (json)
			printf("{\"mb\":\"%s\",\"thread\":%u,\"rx\":%lu,\"tx\":%lu,\"dropped\":%lu,"
			       "\"untagged\":%lu,\"tx_failed\":%lu,\"tx_waits\":%lu,"
			       "\"events\":%lu,\"replayed\":%lu,\"skipped\":%lu,"
			       "\"skipped_in_replay\":%lu,\"free\":%s}\n",
			       mb->ops->name, i, t->rx, t->tx, t->dropped, t->untagged, t->tx_failed,
			       t->tx_waits, st.events, st.replayed, st.skipped, t->skipped,
			       st.free ? "true" : "false");
		else
			fprintf(stderr,
				"%s: thread %u: rx %lu tx %lu dropped %lu untagged %lu tx-failed %lu "
				"events %lu replayed %lu skipped %lu (in replay %lu) tx-waits %lu%s\n",
				mb->ops->name, i, t->rx, t->tx, t->dropped, t->untagged, t->tx_failed,
				st.events, st.replayed, st.skipped, t->skipped, t->tx_waits,
				st.free ? " (running free)" : "");
	}
}

static int parse_options(int *argc, char ***argv, const struct mbox_ops *ops, gint *threads,
			 gchar **io, gchar **region, gboolean *json)
{
	GOptionEntry entries[] = {
		{ "threads", 't', 0, G_OPTION_ARG_INT, threads, "worker threads = queue pairs", "N" },
		{ "io", 'i', 0, G_OPTION_ARG_STRING, io,
		  "packet I/O: afpacket:IFACE or dpdk:EAL-ARGS", "SPEC" },
		{ "region", 'r', 0, G_OPTION_ARG_FILENAME, region,
		  "shared region file (default: $FTMB_REGION, else the ivshmem device)", "PATH" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, json, "print the exit summary as JSON", NULL },
		G_OPTION_ENTRY_NULL
	};
	GOptionContext *ctx = g_option_context_new(NULL);
	GError *err = NULL;
	gboolean ok;

	g_option_context_set_summary(ctx, ops->summary);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (ops->options)
		g_option_context_add_main_entries(ctx, ops->options, NULL);
	ok = g_option_context_parse(ctx, argc, argv, &err);
	g_option_context_free(ctx);
	if (!ok) {
		fprintf(stderr, "%s: %s (see --help)\n", ops->name, err->message);
		g_error_free(err);
		return -EINVAL;
	}
	if (!*io || *threads < 1 || *threads > (gint)FTMB_MAX_THREADS) {
		fprintf(stderr, "%s: need --io SPEC and 1 <= --threads <= %u (see --help)\n",
			ops->name, FTMB_MAX_THREADS);
		return -EINVAL;
	}
	return 0;
}

static int attach(struct mbox *mb, const char *region)
{
	int err = ftmb_attach(region, &mb->ftmb);

	if (err) {
		fprintf(stderr, "%s: cannot attach to the shared region %s: %s\n", mb->ops->name,
			region ? region : "($FTMB_REGION or ivshmem)",
			ftmb_strerror(err));
		return err;
	}
	if (ftmb_n_threads(mb->ftmb) < mb->n_threads) {
		fprintf(stderr, "%s: the region serves %u threads, asked for %u\n", mb->ops->name,
			ftmb_n_threads(mb->ftmb), mb->n_threads);
		return -EINVAL;
	}
	return 0;
}

int mbox_main(int argc, char **argv, const struct mbox_ops *ops)
{
	static struct mbox mb;
	pthread_t tids[FTMB_MAX_THREADS];
	gint threads = 1;
	gchar *io = NULL, *region = NULL;
	gboolean json = FALSE;
	uint32_t started = 0;

	mb.ops = ops;
	if (parse_options(&argc, &argv, ops, &threads, &io, &region, &json))
		return 2;
	mb.n_threads = (uint32_t)threads;
	/* The NIC first: setup may read its address. */
	if (attach(&mb, region) || pktio_open(io, mb.n_threads, &mb.io) ||
	    (ops->setup && ops->setup(&mb)))
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (; started < mb.n_threads; started++) {
		mb.threads[started] = (struct mbox_thread){ .mb = &mb, .idx = started };
		if (pthread_create(&tids[started], NULL, worker_main, &mb.threads[started]))
			break;
	}
	/* "running" means every worker polls its queue: a test may send now. */
	while (!stopping && __atomic_load_n(&workers_ready, __ATOMIC_ACQUIRE) < started)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	fprintf(stderr, "%s: running %u threads, mode %d\n", ops->name, started,
		ftmb_mode(mb.ftmb));
	for (uint32_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	print_summary(&mb, json);
	pktio_close(mb.io);
	ftmb_detach(mb.ftmb);
	return started == mb.n_threads ? 0 : 1;
}
