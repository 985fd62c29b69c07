// SPDX-License-Identifier: GPL-2.0-or-later
/* ftmb-traffic's packet loop: send on schedule, receive, record, echo. */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "run.h"

#define GEN_STOP_AFTER_IDLE_MS 200
#define SINK_MAX_FLOWS (1u << 22)
#define SINK_MAX_SEQ (1ull << 32) /* bounds the per-flow bitmap at 512 MiB */
#define PACER_MAX_LAG_S 1e-3      /* how far behind schedule a sender may run */
#define ECHO_TX_TRIES 8
#define TSC_CALIBRATION_NS 20000000
#define LINK_CHECKS_PER_S 100

uint64_t traffic_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t s_to_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

/* The loop's TSC reading as CLOCK_MONOTONIC, close enough to end phases. */
static uint64_t tsc_ns(const struct traffic_run *r, uint64_t tsc)
{
	return r->start_ns + (uint64_t)((double)(tsc - r->start_tsc) * 1e9 / (double)r->tsc_hz);
}

static bool sends(const struct traffic_opts *o)
{
	return o->mode == MODE_GEN || o->mode == MODE_SEND_ONLY;
}

static bool records(const struct traffic_opts *o)
{
	return o->mode == MODE_GEN || o->mode == MODE_SINK_ONLY;
}

bool traffic_run_init(struct traffic_run *r, const struct traffic_opts *o,
		      struct traffic_port *p, GError **err)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->port = p;
	r->rng = o->seed ? o->seed : 1;
	lathist_init(&r->lat);
	testframe_build(r->tmpl, o->size, o->dst_mac, o->src_mac_set ? o->src_mac : p->mac);
	if (sends(o)) {
		r->next_seq = g_new0(uint64_t, o->flows);
		r->sent_hi = g_new0(uint64_t, o->flows);
		r->first_win_seq = g_new0(uint64_t, o->flows);
	}
	if (o->mode == MODE_GEN)
		r->ft = flowtrack_new(o->flows, SINK_MAX_SEQ);
	else if (o->mode == MODE_SINK_ONLY)
		r->ft = flowtrack_new(SINK_MAX_FLOWS, SINK_MAX_SEQ);
	if (o->record) {
		r->rec = sinkrec_writer_open(o->record, err);
		if (!r->rec)
			return false;
	}
	return true;
}

/*
 * The TSC frequency against CLOCK_MONOTONIC. EAL's rte_get_tsc_hz() can be
 * off by 0.2% in a VM, which would skew both the rate and the window; the
 * run refines this once a second over its whole length.
 */
static uint64_t calibrate_tsc_hz(uint64_t *tsc, uint64_t *ns)
{
	const struct timespec pause = { .tv_nsec = TSC_CALIBRATION_NS };
	uint64_t tsc0 = rte_rdtsc(), ns0 = traffic_mono_ns();

	nanosleep(&pause, NULL);
	*tsc = rte_rdtsc();
	*ns = traffic_mono_ns();
	return (uint64_t)((double)(*tsc - tsc0) * 1e9 / (double)(*ns - ns0));
}

static void recalibrate(struct traffic_run *r)
{
	uint64_t tsc = rte_rdtsc(), ns = traffic_mono_ns();

	r->tsc_hz = (uint64_t)((double)(tsc - r->start_tsc) * 1e9 / (double)(ns - r->start_ns));
	r->pacer.hz = r->tsc_hz;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Sets the clocks and the window, once the link is up. */
static void start(struct traffic_run *r)
{
	const struct traffic_opts *o = r->o;
	double max_lag = o->rate * PACER_MAX_LAG_S;

	r->tsc_hz = calibrate_tsc_hz(&r->start_tsc, &r->start_ns);
	r->win_start_ns = r->start_ns + s_to_ns(o->warmup);
	r->win_end_ns = o->duration > 0 ? r->win_start_ns + s_to_ns(o->duration) : UINT64_MAX;
	r->sending = sends(o);
	pacer_init(&r->pacer, r->tsc_hz, o->rate, r->start_tsc,
		   MAX((uint64_t)max_lag, 4u * o->burst));
	backoff_init(&r->backoff, o->spin_ns, o->max_sleep_ns, r->start_ns);
	r->link_up = traffic_port_link_up(r->port);
	r->link_down_ns = r->start_ns;
	r->cpu_s = cpu_s();
}

static uint32_t next_flow(struct traffic_run *r)
{
	uint64_t x;

	if (!r->o->random_flows)
		return (uint32_t)(r->rr_next++ % r->o->flows);
	/* xorshift64*, then a multiply-shift into [0, flows) */
	x = r->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	x *= 0x2545f4914f6cdd1dull;
	return (uint32_t)(((x >> 32) * r->o->flows) >> 32);
}

/* Builds frames until `want` are pending; returns how many are. */
static unsigned int fill_pending(struct traffic_run *r, unsigned int want)
{
	const uint16_t size = r->o->size;
	unsigned int need;

	if (r->npending >= want)
		return want;
	need = want - r->npending;
	if (rte_pktmbuf_alloc_bulk(r->port->pool, r->pending + r->npending, need) != 0)
		return r->npending; /* pool dry (mbufs held by the port): send what we have */
	for (unsigned int i = r->npending; i < want; i++) {
		struct rte_mbuf *m = r->pending[i];
		uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
		uint32_t f = next_flow(r);

		memcpy(d, r->tmpl, size);
		m->data_len = size;
		m->pkt_len = size;
		r->pending_flow[i] = f;
		r->pending_seq[i] = ++r->next_seq[f];
		testframe_stamp(d, f, r->pending_seq[i]);
	}
	r->npending = want;
	return want;
}

static void account_sent(struct traffic_run *r, unsigned int sent, uint64_t tx_ns)
{
	const bool in_win = tx_ns >= r->win_start_ns && tx_ns < r->win_end_ns;

	if (in_win && r->tx_win.packets == 0)
		r->skipped_before_win = r->pacer.skipped;
	for (unsigned int i = 0; i < sent; i++) {
		uint32_t f = r->pending_flow[i];

		r->sent_hi[f] = r->pending_seq[i];
		if (in_win && !r->first_win_seq[f])
			r->first_win_seq[f] = r->pending_seq[i];
	}
	r->tx_all.packets += sent;
	r->tx_all.bytes += (uint64_t)sent * r->o->size;
	if (in_win) {
		r->tx_win.packets += sent;
		r->tx_win.bytes += (uint64_t)sent * r->o->size;
	}
	r->npending -= sent;
	memmove(r->pending, r->pending + sent, r->npending * sizeof(r->pending[0]));
	memmove(r->pending_flow, r->pending_flow + sent, r->npending * sizeof(r->pending_flow[0]));
	memmove(r->pending_seq, r->pending_seq + sent, r->npending * sizeof(r->pending_seq[0]));
}

/* Frames built but never accepted are dropped unsent: their seqs were
 * never on the wire, and sent_hi ends below them. */
static void stop_sending(struct traffic_run *r, uint64_t now_ns)
{
	rte_pktmbuf_free_bulk(r->pending, r->npending);
	r->npending = 0;
	r->sending = false;
	r->send_end_ns = now_ns;
}

static bool send_due(struct traffic_run *r, uint64_t now)
{
	const struct traffic_opts *o = r->o;
	uint64_t due = pacer_due(&r->pacer, now), tx_ns;
	unsigned int n, sent;

	if (o->count)
		due = MIN(due, o->count - r->tx_all.packets);
	if (due == 0)
		return false;
	n = fill_pending(r, (unsigned int)MIN(due, (uint64_t)o->burst));
	if (n == 0)
		return false;
	tx_ns = traffic_mono_ns();
	if (tx_ns >= r->win_end_ns) {
		stop_sending(r, tx_ns);
		return false;
	}
	for (unsigned int i = 0; i < n; i++)
		testframe_set_tx_ns(rte_pktmbuf_mtod(r->pending[i], uint8_t *), tx_ns);
	sent = rte_eth_tx_burst(r->port->id, 0, r->pending, (uint16_t)n);
	account_sent(r, sent, tx_ns);
	pacer_sent(&r->pacer, sent);
	if (o->count && r->tx_all.packets >= o->count)
		stop_sending(r, tx_ns);
	return sent > 0;
}

static enum flowtrack_mark mark(struct traffic_run *r, const struct testframe *t)
{
	/* A generator knows what it sent: anything else is not its packet. */
	if (r->sent_hi && (t->flow >= r->o->flows || t->seq > r->sent_hi[t->flow]))
		return FLOWTRACK_OUT_OF_RANGE;
	return flowtrack_mark(r->ft, t->flow, t->seq);
}

static void record(struct traffic_run *r, const struct testframe *t, uint32_t len,
		   uint64_t rx_ns)
{
	const struct ftmb_sinkrec rec = {
		.flow = t->flow,
		.src_ip = t->src_ip,
		.src_port = t->src_port,
		.frame_len = len,
		.seq = t->seq,
		.tx_ns = t->tx_ns,
		.rx_ns = rx_ns,
		.mb_global = t->mb_global,
		.mb_flow = t->mb_flow,
	};

	sinkrec_writer_add(r->rec, &rec);
}

static void handle_frame(struct traffic_run *r, const struct rte_mbuf *m, uint64_t rx_ns)
{
	uint8_t copy[FTMB_TESTPKT_MIN_FRAME];
	const uint8_t *d = rte_pktmbuf_read(m, 0, sizeof(copy), copy);
	struct testframe t;

	if (!d || !testframe_parse(d, m->pkt_len, &t)) {
		r->rx_nontest++;
		return;
	}
	if (r->rec)
		record(r, &t, m->pkt_len, rx_ns);
	if (!t.ip_csum_ok)
		r->rx_bad_csum++;
	if (!r->first_rx_ns)
		r->first_rx_ns = rx_ns;
	r->last_rx_ns = rx_ns;
	switch (mark(r, &t)) {
	case FLOWTRACK_OUT_OF_RANGE:
		r->rx_out_of_range++;
		return;
	case FLOWTRACK_DUPLICATE:
		r->rx_dup++;
		return;
	case FLOWTRACK_NEW:
		break;
	}
	r->rx_unique++;
	if (t.tx_ns >= r->win_start_ns && t.tx_ns < r->win_end_ns) {
		r->rx_win.packets++;
		r->rx_win.bytes += m->pkt_len;
		lathist_add(&r->lat, rx_ns > t.tx_ns ? rx_ns - t.tx_ns : 0);
	}
}

static bool receive(struct traffic_run *r)
{
	struct rte_mbuf *m[TRAFFIC_MAX_BURST];
	uint16_t n = rte_eth_rx_burst(r->port->id, 0, m, r->o->burst);
	uint64_t rx_ns;

	if (n == 0)
		return false;
	r->rx_frames += n;
	if (records(r->o)) {
		rx_ns = traffic_mono_ns();
		for (uint16_t i = 0; i < n; i++)
			handle_frame(r, m[i], rx_ns);
	}
	rte_pktmbuf_free_bulk(m, n);
	return true;
}

static bool echo(struct traffic_run *r)
{
	struct rte_mbuf *m[TRAFFIC_MAX_BURST];
	uint16_t n = rte_eth_rx_burst(r->port->id, 0, m, r->o->burst), sent = 0;

	if (n == 0)
		return false;
	r->rx_frames += n;
	for (uint16_t i = 0; i < n; i++)
		if (rte_pktmbuf_data_len(m[i]) >= TESTFRAME_ETH_LEN)
			testframe_swap_macs(rte_pktmbuf_mtod(m[i], uint8_t *));
	for (int tries = 0; sent < n && tries < ECHO_TX_TRIES; tries++)
		sent += rte_eth_tx_burst(r->port->id, 0, m + sent, n - sent);
	rte_pktmbuf_free_bulk(m + sent, n - sent);
	r->echoed += sent;
	r->echo_dropped += n - sent;
	return true;
}

static uint32_t stop_after_idle_ms(const struct traffic_opts *o)
{
	if (o->stop_after_idle_ms >= 0)
		return (uint32_t)o->stop_after_idle_ms;
	return o->mode == MODE_GEN ? GEN_STOP_AFTER_IDLE_MS : UINT32_MAX;
}

/* now - then, or 0 when `then` (read from another clock) is ahead. */
static uint64_t since(uint64_t now_ns, uint64_t then_ns)
{
	return now_ns > then_ns ? now_ns - then_ns : 0;
}

static bool finished(struct traffic_run *r, uint64_t now_ns)
{
	const struct traffic_opts *o = r->o;
	const uint64_t idle_ns = (uint64_t)stop_after_idle_ms(o) * 1000000;

	switch (o->mode) {
	case MODE_GEN:
		return !r->sending && since(now_ns, MAX(r->send_end_ns, r->last_rx_ns)) >= idle_ns;
	case MODE_SEND_ONLY:
		return !r->sending;
	case MODE_SINK_ONLY:
		if (now_ns >= r->win_end_ns)
			return true;
		return o->stop_after_idle_ms >= 0 && r->first_rx_ns &&
		       since(now_ns, r->last_rx_ns) >= idle_ns;
	case MODE_ECHO:
		return o->duration > 0 && since(now_ns, r->start_ns) >= s_to_ns(o->duration);
	}
	return true;
}

/* Notes link changes (to 10 ms) and reconnects while the link is down. */
static void check_link(struct traffic_run *r, uint64_t now_ns)
{
	bool up = traffic_port_link_up(r->port);

	if (up != r->link_up) {
		r->link_downs += !up;
		r->link_down_ns = now_ns;
		if (!r->o->quiet)
			fprintf(stderr, "ftmb-traffic: %s: link %s at %.3f s\n", r->port->name,
				up ? "up" : "down", (double)(now_ns - r->start_ns) / 1e9);
	}
	r->link_up = up;
	if (!up)
		traffic_port_reconnect(r->port, now_ns, now_ns - r->link_down_ns);
}

static void once_a_second(struct traffic_run *r, uint64_t now_ns)
{
	recalibrate(r);
	if (r->rec)
		sinkrec_writer_flush(r->rec);
	if (!r->o->quiet)
		traffic_report_progress(r, now_ns);
}

static void idle(struct traffic_run *r, uint64_t now)
{
	uint64_t s = backoff_idle(&r->backoff, tsc_ns(r, now)), wait;
	struct timespec ts;

	/* Sleep no further than the next packet's departure. (A sender that is
	 * due but could not send, wait 0, backs off like an idle receiver.) */
	if (r->sending && s > 0) {
		wait = (uint64_t)((double)pacer_wait(&r->pacer, now) * 1e9 / (double)r->tsc_hz);
		if (wait > 0 && wait < s)
			s = wait;
	}
	if (s == 0) {
		rte_pause();
		return;
	}
	ts.tv_sec = (time_t)(s / NS_PER_S);
	ts.tv_nsec = (long)(s % NS_PER_S);
	clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

void traffic_run_loop(struct traffic_run *r, const volatile sig_atomic_t *stop)
{
	uint64_t next_second, next_link_check;

	start(r);
	next_second = r->start_tsc + r->tsc_hz;
	next_link_check = r->start_tsc;
	while (!*stop) {
		uint64_t now = rte_rdtsc(), now_ns = tsc_ns(r, now);
		/* A stopped port (a memif client between connections) is not
		 * polled: DPDK forbids it. */
		const bool polls = r->port->started;
		bool work = polls && (r->o->mode == MODE_ECHO ? echo(r) : receive(r));

		if (r->sending && now_ns >= r->win_end_ns)
			stop_sending(r, now_ns);
		if (r->sending && polls)
			work |= send_due(r, now);
		if (now >= next_link_check) {
			check_link(r, now_ns);
			if (r->sending && r->o->stop_file && access(r->o->stop_file, F_OK) == 0)
				stop_sending(r, now_ns);
			next_link_check = now + r->tsc_hz / LINK_CHECKS_PER_S;
		}
		if (now >= next_second) {
			once_a_second(r, now_ns);
			next_second += r->tsc_hz;
		}
		if (finished(r, now_ns))
			break;
		if (work)
			backoff_work(&r->backoff, now_ns);
		else
			idle(r, now);
	}
	r->interrupted = *stop != 0;
	if (r->sending)
		stop_sending(r, traffic_mono_ns());
	r->end_ns = traffic_mono_ns();
	r->cpu_s = cpu_s() - r->cpu_s;
}

bool traffic_run_close_record(struct traffic_run *r, GError **err)
{
	bool ok;

	if (!r->rec)
		return true;
	r->records = sinkrec_writer_count(r->rec);
	ok = sinkrec_writer_close(r->rec, err);
	r->rec = NULL;
	return ok;
}

void traffic_run_free(struct traffic_run *r)
{
	if (r->rec)
		sinkrec_writer_close(r->rec, NULL);
	r->rec = NULL;
	flowtrack_free(r->ft);
	g_free(r->next_seq);
	g_free(r->sent_hi);
	g_free(r->first_win_seq);
	r->ft = NULL;
	r->next_seq = r->sent_hi = r->first_win_seq = NULL;
}
