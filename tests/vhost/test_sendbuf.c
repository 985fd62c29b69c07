// SPDX-License-Identifier: GPL-2.0-or-later
/* The replication send buffer (sendbuf.c) over a real socket pair: partial
 * sends, frames kept until acknowledged, restart at the first frame not
 * acknowledged after a reconnection, and refusing to take more than it has
 * room for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "ftmb/le.h"
#include "ftmb/repl.h"
#include "sendbuf.h"

static struct sendbuf sb;
static int fds[2];
static uint8_t store[FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD];
static struct ftmb_repl_decoder dec; /* the receiving peer's */
static uint64_t acked_seq;           /* acknowledgements cover inputs up to this */

static int setup(void **state)
{
	int small = 4096;

	(void)state;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		return -1;
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	ftmb_repl_decoder_init(&dec, store, sizeof(store));
	acked_seq = 0;
	return sendbuf_init(&sb, 64 * 1024);
}

static int teardown(void **state)
{
	(void)state;
	close(fds[0]);
	close(fds[1]);
	sendbuf_free(&sb);
	return 0;
}

/* Queues one INPUT frame of plen payload bytes numbered seq. */
static size_t put_input(uint64_t seq, uint16_t plen)
{
	uint8_t pkt[2048];
	uint8_t *p = sendbuf_reserve(&sb, FTMB_REPL_HDR_LEN + 16 + plen);
	int n;

	assert_non_null(p);
	memset(pkt, (int)seq, plen);
	n = ftmb_repl_put_input(p, FTMB_REPL_HDR_LEN + 16 + plen, 0, seq, pkt, plen);
	assert_true(n > 0);
	sendbuf_commit(&sb, (size_t)n);
	return (size_t)n;
}


static bool covered(void *ctx, const uint8_t *frame)
{
	(void)ctx;
	return ftmb_get_le64(frame + FTMB_REPL_HDR_LEN + 8) <= acked_seq;
}

static void ack_up_to(uint64_t seq)
{
	acked_seq = seq;
	sendbuf_ack(&sb, covered, NULL);
}

/* Reads everything available and decodes it (the peer's decoder keeps a
 * frame cut in two); returns the input seqs of the whole frames seen. */
static int receive_seqs(int fd, uint64_t *seqs, int max)
{
	struct ftmb_repl_frame f;
	struct ftmb_repl_input in;
	uint8_t buf[8192];
	ssize_t n;
	int k = 0, rc;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		assert_int_equal(ftmb_repl_decoder_feed(&dec, buf, (size_t)n), FTMB_OK);
		while ((rc = ftmb_repl_decoder_next(&dec, &f)) == 1) {
			assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_OK);
			if (k < max)
				seqs[k++] = in.seq;
		}
		assert_int_equal(rc, 0);
	}
	return k;
}

static void sends_everything_when_the_socket_takes_it(void **state)
{
	uint64_t seqs[16];

	(void)state;
	for (uint64_t s = 1; s <= 3; s++)
		put_input(s, 100);
	assert_int_equal(sendbuf_flush(&sb, fds[0]), 3 * (FTMB_REPL_HDR_LEN + 116));
	assert_int_equal(sendbuf_pending(&sb), 0);
	assert_int_equal(receive_seqs(fds[1], seqs, 16), 3);
	assert_int_equal(seqs[2], 3);
	assert_true(sendbuf_room(&sb) < 64 * 1024); /* kept until acknowledged */
	ack_up_to(2);
	assert_true(sendbuf_room(&sb) < 64 * 1024); /* reclaiming would copy more than it frees */
	ack_up_to(3);
	assert_int_equal(sendbuf_room(&sb), 64 * 1024); /* all reclaimed */
}

static void keeps_what_the_socket_refuses(void **state)
{
	uint64_t seqs[64];
	int got = 0;

	(void)state;
	for (uint64_t s = 1; s <= 40; s++)
		put_input(s, 1000);
	sendbuf_flush(&sb, fds[0]);
	assert_true(sendbuf_pending(&sb) > 0); /* the small socket buffer is full */
	while (sendbuf_pending(&sb)) {
		got += receive_seqs(fds[1], seqs + got, 64 - got);
		assert_true(sendbuf_flush(&sb, fds[0]) >= 0);
	}
	got += receive_seqs(fds[1], seqs + got, 64 - got);
	assert_int_equal(got, 40);
	assert_int_equal(dec.end - dec.start, 0); /* no half frame left over */
	for (int i = 0; i < 40; i++)
		assert_int_equal(seqs[i], (uint64_t)i + 1);
}

/* A connection lost in the middle of a frame: the next one starts with the
 * first frame not acknowledged, whole, so the new peer decodes a clean
 * stream and misses nothing the old one may not have read. */
static void rewinds_to_the_first_frame_not_acknowledged(void **state)
{
	int pair[2];
	uint64_t seqs[64];
	int got;

	(void)state;
	for (uint64_t s = 1; s <= 40; s++)
		put_input(s, 1000);
	sendbuf_flush(&sb, fds[0]);
	assert_true(sendbuf_pending(&sb) > 0);
	got = receive_seqs(fds[1], seqs, 64);
	assert_true(got > 5);
	ack_up_to(5); /* the backup acknowledged 1..5 only */
	close(fds[1]); /* the old peer is gone, and so is whatever it had not read */
	sendbuf_rewind(&sb);
	ftmb_repl_decoder_init(&dec, store, sizeof(store)); /* a new peer */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	close(fds[0]);
	fds[0] = pair[0];
	fds[1] = pair[1];
	got = 0;
	while (sendbuf_pending(&sb)) {
		assert_true(sendbuf_flush(&sb, fds[0]) >= 0);
		got += receive_seqs(fds[1], seqs + got, 64 - got);
	}
	/* The new peer decodes whole frames only, in order, from 6 to the last. */
	assert_true(got > 0);
	assert_int_equal(seqs[0], 6);
	assert_int_equal(dec.end - dec.start, 0);
	for (int i = 1; i < got; i++)
		assert_int_equal(seqs[i], seqs[i - 1] + 1);
	assert_int_equal(seqs[got - 1], 40);
}

static void refuses_more_than_its_room(void **state)
{
	size_t frame = FTMB_REPL_HDR_LEN + 16 + 1000, n = 0;

	(void)state;
	while (sendbuf_reserve(&sb, frame)) {
		put_input(++n, 1000);
	}
	assert_true(sendbuf_room(&sb) < frame);
	assert_int_equal(n, (64 * 1024) / frame);
	/* Sending alone frees nothing: only acknowledged frames are reclaimed. */
	for (int i = 0; i < 100 && sendbuf_pending(&sb); i++) {
		uint64_t seqs[64];

		assert_true(sendbuf_flush(&sb, fds[0]) >= 0);
		receive_seqs(fds[1], seqs, 64);
	}
	assert_int_equal(sendbuf_pending(&sb), 0);
	assert_true(sendbuf_room(&sb) < frame);
	ack_up_to(n);
	assert_non_null(sendbuf_reserve(&sb, frame));
}

static void reports_a_broken_connection(void **state)
{
	(void)state;
	put_input(1, 10);
	close(fds[1]);
	fds[1] = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sendbuf_flush(&sb, fds[0]) < 0);
	assert_int_equal(sendbuf_pending(&sb), FTMB_REPL_HDR_LEN + 26); /* kept for the next peer */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sends_everything_when_the_socket_takes_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(keeps_what_the_socket_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(rewinds_to_the_first_frame_not_acknowledged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refuses_more_than_its_room, setup, teardown),
		cmocka_unit_test_setup_teardown(reports_a_broken_connection, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
