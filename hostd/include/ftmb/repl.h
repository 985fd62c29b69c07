/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replication stream: ftmb-vhost and hostd on the primary to hostd on the
 * backup, over TCP, and the backup's acknowledgements back.
 *
 * Every frame is a 12-byte header and a payload, all little-endian:
 *
 *   u32 len      payload bytes (<= FTMB_REPL_MAX_PAYLOAD)
 *   u8  type     enum ftmb_repl_type
 *   u8  flags    zero
 *   u16 reserved zero
 *   u32 crc      CRC32C of the first 8 header bytes, then the payload
 *
 * Payloads:
 *   HELLO      u32 magic "FTMR" | u16 version | u8 role | u8 0 | u16 n_threads |
 *              u16 0 | u32 n_vars | u64 generation | char instance[64] (NUL-padded)
 *   INPUT      u16 queue | u16 len | u32 0 | u64 seq | len packet bytes
 *   PAL        u16 thread | u16 count | u32 0 | count x struct ftmb_record,
 *              counters contiguous
 *   RELEASED   u16 n | u16 0 | u32 0 | u64 out_seq[n]   (per thread: every
 *              output up to out_seq has left the primary)
 *   CUT        u64 ckpt_seq | u16 n | u16 0 | u32 0 | u64 in[n] | u64 pal[n]
 *   ACK        u16 n | u16 0 | u32 0 | u64 in[n] | u64 pal[n]   (durable vector)
 *   HEARTBEAT  u64 seq | u64 time_ns | u32 state | u32 0
 *   COMMITTED  u64 epoch   (backup to ftmb-vhost, see below)
 *   HANDOVER   u32 step | u32 0 | char instance[64] (NUL-padded)
 *   BASE       as CUT   (ftmb-vhost of a re-protected replica, see below)
 *
 * Checkpoints. ftmb-vhost numbers its cuts with an epoch (1, 2, ...): one
 * per pause of a checkpointed VM (the cut is also written into the shared
 * region, ftmb/region.h) or one per ckpt_interval_ms in host-process mode.
 * Each cut goes out as a CUT frame whose ckpt_seq is the epoch. The backup
 * answers COMMITTED(E) once the checkpoint of epoch E is committed: its log
 * covers the cut and, for a VM, the checkpoint whose region carries that cut
 * is stored whole; the log is then truncated at the cut. COMMITTED is
 * cumulative (E covers every earlier epoch) and, after a reconnection, the
 * backup repeats the last one right after its HELLO answer and ACK.
 *
 * Re-protection. A replica restored from a VM checkpoint goes on numbering
 * inputs and PALs from that checkpoint's cut. When it streams to a new
 * backup, its first frame after HELLO is BASE: the cut it started from
 * (epoch, in[], pal[]). The new backup's log then begins there, as if that
 * cut had been committed, but it holds no checkpoint until the first one
 * carrying a later cut arrives and commits; it cannot fail the instance
 * over before that. BASE is accepted only as the start of a log (or as an
 * identical resend).
 *
 * Planned failover. On a hostd's heartbeat connection the primary asks its
 * backup to take one instance over (HANDOVER, step REQUEST) once the VM is
 * paused, so that nothing more leaves it; the backup answers ACCEPTED when
 * it has fenced the instance's log stream and started the failover, or
 * REFUSED (it does not back that instance up for this peer, or has no log).
 * The primary destroys its VM only after ACCEPTED, and resumes it otherwise.
 *
 * The first frame on a connection is HELLO, in both directions. A hostd's
 * HELLO (role FTMB_ROLE_HOSTD) names the host in instance, with n_threads =
 * n_vars = 1 and generation = the daemon's start time in microseconds. ACKs are
 * cumulative. A receiver that finds any error closes the connection and logs
 * ftmb_strerror() of it; nothing a peer sends can crash it.
 */
#ifndef FTMB_REPL_H
#define FTMB_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "ftmb/err.h"
#include "ftmb/record.h"
#include "ftmb/vclock.h"

#define FTMB_REPL_MAGIC 0x524d5446u /* "FTMR" */
#define FTMB_REPL_VERSION 1u
#define FTMB_REPL_HDR_LEN 12u
#define FTMB_REPL_MAX_PAYLOAD (1u << 20)
#define FTMB_REPL_MAX_RECORDS 1024u
#define FTMB_REPL_MAX_PKT 9216u
#define FTMB_INSTANCE_MAX 63u

enum ftmb_repl_type {
	FTMB_REPL_HELLO = 1,
	FTMB_REPL_INPUT = 2,
	FTMB_REPL_PAL = 3,
	FTMB_REPL_RELEASED = 4,
	FTMB_REPL_CUT = 5,
	FTMB_REPL_ACK = 6,
	FTMB_REPL_HEARTBEAT = 7,
	FTMB_REPL_COMMITTED = 8,
	FTMB_REPL_HANDOVER = 9,
	FTMB_REPL_BASE = 10,
};

#define FTMB_REPL_TYPE_MAX FTMB_REPL_BASE

enum ftmb_handover_step {
	FTMB_HANDOVER_REQUEST = 1,  /* primary to backup: take the instance over */
	FTMB_HANDOVER_ACCEPTED = 2, /* backup: fenced, failing over */
	FTMB_HANDOVER_REFUSED = 3,  /* backup: not this instance from you */
};

/* The state a HEARTBEAT's sender reports. */
enum ftmb_hb_state {
	FTMB_HB_PROBE = 0,   /* a measurement probe (ftmb-ping) */
	FTMB_HB_PRIMARY = 1, /* a primary hostd, running */
	FTMB_HB_BACKUP = 2,  /* a backup's echo */
	FTMB_HB_LEAVING = 3, /* a hostd stopping on purpose: not a failure */
};

enum ftmb_repl_role {
	FTMB_ROLE_VHOST = 1,  /* ftmb-vhost streaming a protected instance's log */
	FTMB_ROLE_HOSTD = 2,  /* a primary hostd: heartbeats, cuts, checkpoints */
	FTMB_ROLE_BACKUP = 3, /* the backup's answer */
	FTMB_ROLE_CHECKPOINT = 4, /* a primary hostd: one VM's raw checkpoint stream */
};

struct ftmb_repl_frame {
	uint8_t type;
	uint32_t len;
	const uint8_t *payload; /* valid until the next decoder call */
};

struct ftmb_repl_hello {
	uint16_t version;
	uint8_t role;
	uint16_t n_threads;
	uint32_t n_vars;
	uint64_t generation;
	char instance[FTMB_INSTANCE_MAX + 1];
};

struct ftmb_repl_input {
	uint16_t queue;
	uint16_t len;
	uint64_t seq;
	const uint8_t *data;
};

struct ftmb_repl_pal {
	uint16_t thread;
	uint16_t count;
	const uint8_t *records; /* count x 32 bytes; read with ftmb_repl_pal_get */
};

struct ftmb_repl_vector {
	uint16_t n;
	uint64_t ckpt_seq; /* CUT and BASE only */
	struct ftmb_vclock vc;
};

struct ftmb_repl_released {
	uint16_t n;
	uint64_t out_seq[FTMB_MAX_THREADS];
};

struct ftmb_repl_heartbeat {
	uint64_t seq;
	uint64_t time_ns;
	uint32_t state;
};

struct ftmb_repl_handover {
	uint32_t step; /* enum ftmb_handover_step */
	char instance[FTMB_INSTANCE_MAX + 1];
};

/* CRC32C (Castagnoli), the checksum of every frame. */
uint32_t ftmb_crc32c(const void *data, size_t len);

/* Encoders write one whole frame into buf and return its length, or
 * FTMB_E_NOSPACE when cap is too small, or FTMB_E_RANGE on bad arguments. */
int ftmb_repl_put_hello(uint8_t *buf, size_t cap, const struct ftmb_repl_hello *h);
int ftmb_repl_put_input(uint8_t *buf, size_t cap, uint16_t queue, uint64_t seq,
			const void *pkt, uint16_t len);
int ftmb_repl_put_pal(uint8_t *buf, size_t cap, uint16_t thread, const struct ftmb_record *recs,
		      uint16_t count);
int ftmb_repl_put_released(uint8_t *buf, size_t cap, const struct ftmb_repl_released *r);
int ftmb_repl_put_cut(uint8_t *buf, size_t cap, const struct ftmb_repl_vector *cut);
int ftmb_repl_put_base(uint8_t *buf, size_t cap, const struct ftmb_repl_vector *base);
int ftmb_repl_put_ack(uint8_t *buf, size_t cap, const struct ftmb_repl_vector *ack);
int ftmb_repl_put_heartbeat(uint8_t *buf, size_t cap, const struct ftmb_repl_heartbeat *hb);
int ftmb_repl_put_committed(uint8_t *buf, size_t cap, uint64_t epoch);
int ftmb_repl_put_handover(uint8_t *buf, size_t cap, const struct ftmb_repl_handover *h);

/*
 * Incremental decoder: bytes arrive in arbitrary pieces; frames come out
 * whole and checksummed. After an error the decoder stays failed.
 */
struct ftmb_repl_decoder {
	uint8_t *buf;
	size_t cap;
	size_t start; /* first unconsumed byte */
	size_t end;   /* one past the last received byte */
	int error;
};

/* storage must hold FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD bytes or more. */
void ftmb_repl_decoder_init(struct ftmb_repl_decoder *d, uint8_t *storage, size_t cap);

/* Where the next received bytes go (for recv() straight into the buffer),
 * and how many fit; ftmb_repl_decoder_commit() then accounts for them. */
size_t ftmb_repl_decoder_space(struct ftmb_repl_decoder *d, uint8_t **where);
void ftmb_repl_decoder_commit(struct ftmb_repl_decoder *d, size_t n);

/* Copies n bytes in. FTMB_E_NOSPACE if they do not fit (drain frames first). */
int ftmb_repl_decoder_feed(struct ftmb_repl_decoder *d, const void *data, size_t n);

/* Returns 1 and fills f when a whole valid frame is ready, 0 when more bytes
 * are needed, or an enum ftmb_err. */
int ftmb_repl_decoder_next(struct ftmb_repl_decoder *d, struct ftmb_repl_frame *f);

/* Typed parsers: each checks the frame's type, exact payload length, reserved
 * fields and ranges, and returns FTMB_OK or an enum ftmb_err. */
int ftmb_repl_get_hello(const struct ftmb_repl_frame *f, struct ftmb_repl_hello *h);
int ftmb_repl_get_input(const struct ftmb_repl_frame *f, struct ftmb_repl_input *in);
int ftmb_repl_get_pal(const struct ftmb_repl_frame *f, uint32_t n_vars, struct ftmb_repl_pal *pal);
int ftmb_repl_get_released(const struct ftmb_repl_frame *f, struct ftmb_repl_released *r);
int ftmb_repl_get_cut(const struct ftmb_repl_frame *f, struct ftmb_repl_vector *cut);
int ftmb_repl_get_base(const struct ftmb_repl_frame *f, struct ftmb_repl_vector *base);
int ftmb_repl_get_ack(const struct ftmb_repl_frame *f, struct ftmb_repl_vector *ack);
int ftmb_repl_get_heartbeat(const struct ftmb_repl_frame *f, struct ftmb_repl_heartbeat *hb);
int ftmb_repl_get_committed(const struct ftmb_repl_frame *f, uint64_t *epoch);
int ftmb_repl_get_handover(const struct ftmb_repl_frame *f, struct ftmb_repl_handover *h);

/* The i-th record of a parsed PAL batch (i < count). */
void ftmb_repl_pal_get(const struct ftmb_repl_pal *pal, uint16_t i, struct ftmb_record *rec);

const char *ftmb_repl_type_name(uint8_t type);

#endif
