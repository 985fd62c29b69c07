/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One protected instance's settings, parsed from a command-line spec:
 *
 *   name=nat1,socket=/run/ftmb/nat1.vhost,region=/dev/shm/ftmb-nat1,queues=4,
 *   port=[net_memif0,role=client,socket=/run/x.sock],backup=10.9.0.2:7400,mode=ftmb,
 *   cut=pause
 *
 * A port's devargs contain commas of their own, so a value may be wrapped in
 * square brackets. Pure parsing, no DPDK: unit-tested on its own.
 */
#ifndef VHOST_INST_CONFIG_H
#define VHOST_INST_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftmb/repl.h"

#define INST_MAX_MACS 8u

enum inst_mode {
	INST_MODE_OFF,        /* plain forwarding, the baseline */
	INST_MODE_FTMB,       /* input logging and parallel release */
	INST_MODE_CHECKPOINT, /* Remus-style: outputs wait for the next checkpoint's commit */
};

/* When the instance's cuts are taken (ftmb/region.h, ftmb/repl.h). */
enum inst_cut {
	INST_CUT_NONE,  /* never: a host process replayed from its start */
	INST_CUT_PAUSE, /* at every pause of a checkpointed VM (a device stop) */
	INST_CUT_TIMER, /* every ckpt_interval_ms (host-process mode=checkpoint) */
};

struct inst_config {
	char name[FTMB_INSTANCE_MAX + 1];
	char socket[PATH_MAX];
	char region[PATH_MAX];
	char port[1024];         /* DPDK devargs of the external port */
	char backup_host[256];   /* empty: no backup */
	char backup_port[8];
	char replay[PATH_MAX];   /* empty: not a replica */
	char trace[PATH_MAX];    /* empty: no release trace */
	enum inst_mode mode;
	enum inst_cut cut;
	uint32_t ckpt_interval_ms; /* INST_CUT_TIMER */
	uint16_t queues;         /* queue pairs = middlebox threads */
	uint32_t vars;           /* shared variables the middlebox declares */
	uint32_t slots;          /* PAL ring slots per thread */
	uint32_t hold;           /* held outputs per thread before the guest is cut off */
	uint32_t sendbuf_mib;    /* replication send buffer */
	uint32_t settle_ms;      /* no input to a guest this long after it connects */
	uint8_t macs[INST_MAX_MACS][6]; /* the guest's MACs, announced (announce.h) */
	uint8_t n_macs;
	bool replay_unordered;   /* replay_order=off: the negative control */
	bool standby;            /* wait for the replay file to appear */
};

/* The --help text for the keys. */
extern const char inst_config_help[];

/* Parses spec into cfg (defaults for keys not given) and checks every value
 * and their combination. Returns 0, or -1 with a message in err. */
int inst_config_parse(const char *spec, struct inst_config *cfg, char *err, size_t errlen);

#endif
