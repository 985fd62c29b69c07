// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * monitor: counts packets per flow (thread-local: a flow always arrives on
 * the same queue) and in shared global counters, and stamps the global count
 * and the flow's count into each test packet it forwards. Every released
 * global count must be unique: a sharp probe of recovery correctness.
 *
 * A bump in the wire that sends every frame back towards its sender (the
 * Ethernet addresses swapped), so that on a shared segment the traffic
 * source is also the sink.
 */
#include <string.h>

#include "eth.h"
#include "flowtab.h"
#include "mbox.h"

#define VAR_TOTALS 0

struct totals {
	uint64_t packets;
	uint64_t bytes;
};

static struct totals totals; /* guarded by VAR_TOTALS */
static struct ftmb_var *totals_var;

struct flow_count {
	uint64_t packets;
};

static int monitor_setup(struct mbox *mb)
{
	totals_var = ftmb_var(mb->ftmb, VAR_TOTALS);
	return totals_var ? 0 : -1;
}

static int monitor_thread_setup(struct mbox_thread *t)
{
	t->priv = flowtab_new();
	return 0;
}

static bool monitor_process(struct mbox_thread *t, uint8_t *frame, uint32_t *len, uint32_t room)
{
	uint8_t *probe;
	struct flow_count *fc;
	struct pkt_flow flow;
	uint64_t global;
	struct pkt p;
	bool created;

	(void)room;
	ftmb_lock(t->ft, totals_var);
	global = ++totals.packets;
	totals.bytes += *len;
	ftmb_unlock(t->ft, totals_var);

	if (*len >= ETH_HDR_LEN)
		eth_swap(frame);

	if (pkt_parse(frame, *len, &p))
		return true;
	pkt_flow_of(&p, &flow);
	fc = flowtab_get(t->priv, &flow, sizeof(*fc), &created);
	fc->packets++;
	probe = pkt_testpkt(&p);
	if (probe) {
		memcpy(probe + offsetof(struct ftmb_testpkt, mb_global), &global, sizeof(global));
		memcpy(probe + offsetof(struct ftmb_testpkt, mb_flow), &fc->packets,
		       sizeof(fc->packets));
		pkt_clear_udp_csum(&p); /* cheaper than fixing it */
	}
	return true;
}

static const struct mbox_ops monitor_ops = {
	.name = "ftmb-monitor",
	.summary = "A traffic monitor protected by ftmb: per-flow and global counters.",
	.setup = monitor_setup,
	.thread_setup = monitor_thread_setup,
	.process = monitor_process,
};

int main(int argc, char **argv)
{
	return mbox_main(argc, argv, &monitor_ops);
}
