/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One protected instance: a middlebox (VM or host process) with N queue
 * pairs behind a vhost-user socket, its shared region, its external port and
 * its replication link. One lcore loop polls every instance; a guest that
 * breaks a contract stops only its own instance.
 *
 * Threads: the lcore loop owns everything here except vid, which the vhost
 * library's event thread publishes from the device callbacks; teardown of a
 * device waits (RCU) until the loop has passed a quiescent point.
 */
#ifndef VHOST_INSTANCE_H
#define VHOST_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_mbuf.h>

#include "announce.h"
#include "inst_config.h"
#include "ftmb/vclock.h"
#include "host_region.h"
#include "release.h"
#include "replay_log.h"
#include "repl_link.h"
#include "stats.h"

#define INST_BURST 32u
#define INST_TX_MAX 1024u
#define INST_MAX 64u
#define RELEASED_PERIOD_NS 100000ull /* RELEASED watermarks at most every 100 us */
#define STANDBY_CHECK_NS 500000ull   /* a standby looks for its replay file */
#define PORT_CHECK_NS 1000000ull     /* how often the external link is looked at */
/* A memif client's link must be up by then, or it is restarted. Not
 * sooner: each attempt its server refuses risks DPDK 22.11's memif server,
 * whose interrupt thread has panicked when a refused client left. */
#define PORT_HANDSHAKE_NS 250000000ull

enum inst_state {
	INST_RUNNING,
	INST_STOPPED, /* the guest broke the contract */
};

/* Cuts and commits (cut.h). requested and served are shared between the
 * vhost event thread (a pause) and the loop; the rest is the loop's. */
struct inst_cuts {
	uint64_t epoch;       /* cuts taken: pauses (cut=pause) or timer ticks */
	uint64_t committed;   /* the last epoch the backup committed */
	uint64_t next_ns;     /* the next timer cut */
	uint64_t requested;   /* pauses that asked the loop for a cut (atomic) */
	uint64_t served;      /* requests the loop has answered (atomic) */
	uint64_t commits;     /* COMMITTED frames received */
	uint64_t failed;      /* pauses left without a cut: the loop did not answer */
	uint64_t wait_max_ns; /* the longest a pause waited for its cut */
	struct ftmb_cut last; /* the last cut taken */
	struct ftmb_vclock base; /* a re-protected replica: the cut its log
				  * starts at, sent as BASE (cut_send_base) */
};

/* When a replica reached each step, on CLOCK_MONOTONIC (ns), so that tests
 * can lay them beside other processes' clocks; 0 until reached. */
struct replay_timeline {
	uint64_t found;     /* a standby saw the replay file appear */
	uint64_t begin;     /* log loaded, region and port set up */
	uint64_t connected; /* the loop first saw the guest's device */
	uint64_t first_fed; /* the first logged input went to the guest */
	uint64_t port_up;   /* the external link came up */
	uint64_t live;      /* every logged input fed: external input flows */
	uint64_t complete;  /* the guest reproduced every logged record */
};

/* A replica's progress through its replay log. */
struct replay_feed {
	struct replay_log log;
	uint64_t fed_in[FTMB_MAX_THREADS];  /* logged inputs handed to the guest */
	uint64_t fed_pal[FTMB_MAX_THREADS]; /* logged records pushed to replay rings */
	uint64_t checked_pal[FTMB_MAX_THREADS]; /* drained PALs compared with the log */
	bool closed[FTMB_MAX_THREADS];
	bool live;
	bool complete;
	bool judged; /* live and complete: the region went to mode record, or
		      * stayed in replay because the replica diverged */
	uint64_t start_ns, progress_ns;
	struct replay_timeline at;
};

struct instance {
	struct inst_config cfg;
	uint32_t index;
	uint16_t n; /* queue pairs = threads */
	enum inst_state state;
	char stop_reason[600];
	bool ftmb;       /* mode ftmb */
	bool checkpoint; /* mode checkpoint: outputs wait for the next commit */
	bool protected;  /* has a backup: log or cut, and hold outputs */
	bool standby;    /* a standby replica waiting for its replay file */
	uint64_t standby_check_ns;
	int vid;         /* the guest's vhost device, -1 when none (atomic) */
	uint64_t connected_ns; /* when a new connection's device was published */
	bool fresh_connection; /* a guest connected; its device is not up yet */
	bool vhost_registered;
	bool port_ready;   /* probed and set up */
	bool port_started;
	uint16_t port_id;
	bool port_memif_client; /* restarted while its link stays down */
	bool port_up;
	bool port_linked; /* its link came up since the port last started */
	uint64_t port_start_ns, port_check_ns;
	uint64_t port_restarts;
	struct rte_mempool *pool;
	struct host_region region;
	uint64_t generation; /* the region's, from its creation (or its checkpoint) */
	struct inst_cuts cuts;

	struct ftmb_vclock logged;  /* in[q]: last input seq given; pal[t]: last PAL logged */
	struct ftmb_vclock durable; /* what the backup acknowledged */
	struct out_thread out[FTMB_MAX_THREADS];
	bool released_dirty;
	uint64_t released_sent_ns;

	struct repl_link link;
	bool link_ready;
	size_t pal_reserve; /* send-buffer room a full drain of the PAL rings needs */

	struct rte_mbuf *tx[INST_TX_MAX]; /* released, waiting for the external port */
	uint16_t n_tx;
	/* inputs from the external port a guest RX queue has not taken yet */
	struct rte_mbuf *backlog[FTMB_MAX_THREADS][INST_BURST];
	uint16_t n_backlog[FTMB_MAX_THREADS];

	struct replay_feed *replay;
	struct announce announce;
	struct inst_stats st;
	FILE *trace; /* release trace, or NULL */
};

/* The instances, for the device callbacks (fixed before vhost starts). */
extern struct instance *g_instances[INST_MAX];
extern uint32_t g_n_instances;

/* Process-wide set-up before any instance: the RCU state the device
 * teardown waits on. The calling thread becomes the polling loop. */
int instances_init(char *err, size_t errlen);

/* Creates the instance (region, port, link, replay log) without starting
 * its vhost socket. Returns 0, or -1 with a message in err. */
int instance_create(struct instance *inst, const struct inst_config *cfg, uint32_t index,
		    char *err, size_t errlen);

/* Registers and starts every instance's vhost-user socket. */
int instances_start_vhost(char *err, size_t errlen);

/* One polling pass over the instance; returns the work done. */
uint64_t instance_poll(struct instance *inst, uint64_t now_ns);

/* A standby replica's pass: looks for its replay file and, once it is
 * there, loads it, starts the external port and begins the replay. */
uint64_t instance_standby_poll(struct instance *inst, uint64_t now_ns);

/* Starts a replica's external port once needed, and watches the link: a
 * memif client whose link has not come up PORT_HANDSHAKE_NS after it started
 * is restarted (its server refuses a new client while an old connection
 * lingers; restarting sooner can crash DPDK 22.11's memif server); one whose
 * link was up is not. */
void instance_port_watch(struct instance *inst, uint64_t now_ns);

/* The loop has stopped for good and touches no device again: a device
 * torn down from now on must not wait for it. */
void instances_loop_done(void);

/* The loop's quiescent point (once per iteration). */
void instances_quiescent(void);

/* Stops a guest that broke the contract: logs the reason at ERR level,
 * drops held outputs, closes its vhost socket and replication link. */
void instance_stop(struct instance *inst, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void instance_destroy(struct instance *inst);

/* "off", "ftmb" or "checkpoint". */
const char *instance_mode_name(const struct instance *inst);

static inline int instance_vid(const struct instance *inst)
{
	return __atomic_load_n(&inst->vid, __ATOMIC_ACQUIRE);
}

/* Whether the guest connected long enough ago (settle=, default 0) to be
 * given input. Only a timing convenience: what keeps inputs from a queue
 * that would drop them is the guest's ready word (region.h). Only a new
 * connection waits: a device restarted on the same connection (QEMU
 * stop/cont around every checkpoint) keeps its rings. */
static inline bool instance_guest_settled(const struct instance *inst, uint64_t now)
{
	return now >= __atomic_load_n(&inst->connected_ns, __ATOMIC_ACQUIRE) +
			      (uint64_t)inst->cfg.settle_ms * 1000000ull;
}

/* Nanoseconds from the TSC (the loop's clock). */
uint64_t now_ns(void);

/* CLOCK_MONOTONIC in nanoseconds: for times other processes compare. */
uint64_t mono_ns(void);

#endif
