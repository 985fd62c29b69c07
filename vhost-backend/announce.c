// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "announce.h"
#include "instance.h"
#include "vhost_log.h"

#define ETHERTYPE_RARP 0x8035
#define ARP_OP_REVERSE_REQUEST 3

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void announce_frame(uint8_t *frame, const uint8_t mac[6])
{
	uint8_t *rarp = frame + 14;

	memset(frame, 0, ANNOUNCE_FRAME_LEN);
	memset(frame, 0xff, 6);
	memcpy(frame + 6, mac, 6);
	put16(frame + 12, ETHERTYPE_RARP);
	put16(rarp, 1);          /* hardware: Ethernet */
	put16(rarp + 2, 0x0800); /* protocol: IPv4 */
	rarp[4] = 6;
	rarp[5] = 4;
	put16(rarp + 6, ARP_OP_REVERSE_REQUEST);
	memcpy(rarp + 8, mac, 6);  /* sender: the guest; its IPv4 address unknown */
	memcpy(rarp + 18, mac, 6); /* target: the guest, "who am I" */
}

void announce_start(struct instance *inst, uint64_t now, const char *why)
{
	if (!inst->cfg.n_macs)
		return;
	inst->announce.why = why;
	inst->announce.rounds_left = ANNOUNCE_ROUNDS;
	inst->announce.next_ns = now;
}

void announce_request(struct instance *inst)
{
	__atomic_store_n(&inst->announce.requested, true, __ATOMIC_RELEASE);
}

/* One frame per MAC; a frame the port does not take now is not retried
 * (the next round is). Returns the frames sent. */
static uint16_t send_round(struct instance *inst)
{
	struct rte_mbuf *m[INST_MAX_MACS];
	uint16_t n = 0, sent;

	for (uint8_t i = 0; i < inst->cfg.n_macs; i++) {
		char *p;

		m[n] = rte_pktmbuf_alloc(inst->pool);
		if (!m[n])
			break;
		p = rte_pktmbuf_append(m[n], ANNOUNCE_FRAME_LEN);
		announce_frame((uint8_t *)p, inst->cfg.macs[i]);
		n++;
	}
	sent = rte_eth_tx_burst(inst->port_id, 0, m, n);
	rte_pktmbuf_free_bulk(m + sent, n - sent);
	return sent;
}

uint64_t announce_poll(struct instance *inst, uint64_t now)
{
	struct announce *a = &inst->announce;
	uint16_t sent;

	/* A replica announces once live: until then it takes no new input. */
	if (__atomic_exchange_n(&a->requested, false, __ATOMIC_ACQ_REL) &&
	    (!inst->replay || inst->replay->live))
		announce_start(inst, now, "a guest connected");
	if (!a->rounds_left || now < a->next_ns)
		return 0;
	sent = send_round(inst);
	a->rounds_left--;
	a->next_ns = now + ANNOUNCE_GAP_MS * 1000000ull;
	inst->st.announced += sent;
	if (a->rounds_left == ANNOUNCE_ROUNDS - 1)
		VLOG(INFO, "instance %s: %s: announcing %u MAC(s) on the external port (%u of %u "
			   "RARP frames sent in the first round)",
		     inst->cfg.name, a->why, inst->cfg.n_macs, sent, inst->cfg.n_macs);
	return sent;
}
