// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests of libtesttraffic: frames, histogram, flow tracking, pacing,
 * backoff and the sink record writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "backoff.h"
#include "flowtrack.h"
#include "frame.h"
#include "lathist.h"
#include "pacer.h"
#include "sinkrec.h"

static const uint8_t dst_mac[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t src_mac[6] = { 2, 0, 0, 0, 0, 1 };

/* A stored IPv4 header checksum is right when the whole header sums to
 * 0xffff in one's complement. */
static int ip_header_sums_to_ones(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static void test_frame_roundtrip(void **state)
{
	const uint16_t sizes[] = { FTMB_TESTPKT_MIN_FRAME, 128, TESTFRAME_MAX };
	uint8_t buf[TESTFRAME_MAX];
	struct testframe t;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		testframe_build(buf, sizes[i], dst_mac, src_mac);
		testframe_stamp(buf, 0x010203, 77);
		testframe_set_tx_ns(buf, 123456789012345ull);
		assert_memory_equal(buf, dst_mac, 6);
		assert_memory_equal(buf + 6, src_mac, 6);
		assert_true(ip_header_sums_to_ones(buf + 14));
		assert_true(testframe_parse(buf, sizes[i], &t));
		assert_int_equal(t.flow, 0x010203);
		assert_int_equal(t.seq, 77);
		assert_int_equal(t.tx_ns, 123456789012345ull);
		assert_int_equal(t.mb_global, 0);
		assert_int_equal(t.mb_flow, 0);
		assert_int_equal(t.src_ip, 0x0a010203); /* 10.1.2.3 */
		assert_int_equal(t.src_port, 10000 + 0x010203 % 50000);
		assert_true(t.ip_csum_ok);
	}
}

static void test_frame_flow_addresses(void **state)
{
	(void)state;
	assert_int_equal(testframe_flow_ip(0), 0x0a000000);
	assert_int_equal(testframe_flow_ip(65536 + 256 + 1), 0x0a010101);
	assert_int_equal(testframe_flow_port(0), 10000);
	assert_int_equal(testframe_flow_port(49999), 59999);
	assert_int_equal(testframe_flow_port(50000), 10000);
}

static void test_frame_bad_checksum_still_parses(void **state)
{
	uint8_t buf[128];
	struct testframe t;

	(void)state;
	testframe_build(buf, sizeof(buf), dst_mac, src_mac);
	testframe_stamp(buf, 5, 1);
	buf[14 + 12] ^= 1; /* a NAT that rewrites the source but not the checksum */
	assert_true(testframe_parse(buf, sizeof(buf), &t));
	assert_false(t.ip_csum_ok);
}

static void test_frame_rejects(void **state)
{
	uint8_t good[128], buf[128];
	struct testframe t;

	(void)state;
	testframe_build(good, sizeof(good), dst_mac, src_mac);
	testframe_stamp(good, 1, 1);
	assert_false(testframe_parse(good, FTMB_TESTPKT_MIN_FRAME - 1, &t));

	memcpy(buf, good, sizeof(buf));
	buf[12] = 0x86, buf[13] = 0xdd; /* IPv6 */
	assert_false(testframe_parse(buf, sizeof(buf), &t));

	memcpy(buf, good, sizeof(buf));
	buf[14] = 0x46; /* IP options */
	assert_false(testframe_parse(buf, sizeof(buf), &t));

	memcpy(buf, good, sizeof(buf));
	buf[14 + 9] = 6; /* TCP */
	assert_false(testframe_parse(buf, sizeof(buf), &t));

	memcpy(buf, good, sizeof(buf));
	buf[14 + 6] |= 0x20; /* more fragments */
	assert_false(testframe_parse(buf, sizeof(buf), &t));

	memcpy(buf, good, sizeof(buf));
	buf[34 + 3] = 8; /* UDP port 8 */
	assert_false(testframe_parse(buf, sizeof(buf), &t));

	memcpy(buf, good, sizeof(buf));
	buf[42] ^= 0xff; /* magic */
	assert_false(testframe_parse(buf, sizeof(buf), &t));

	/* IP total length beyond the frame */
	assert_false(testframe_parse(good, sizeof(good) - 1, &t));

	memcpy(buf, good, sizeof(buf));
	buf[34 + 4] = 0, buf[34 + 5] = 20; /* UDP length too short for the payload */
	assert_false(testframe_parse(buf, sizeof(buf), &t));

	assert_true(testframe_parse(good, sizeof(good), &t));
}

static void test_frame_swap_macs(void **state)
{
	uint8_t buf[FTMB_TESTPKT_MIN_FRAME];

	(void)state;
	testframe_build(buf, sizeof(buf), dst_mac, src_mac);
	testframe_swap_macs(buf);
	assert_memory_equal(buf, src_mac, 6);
	assert_memory_equal(buf + 6, dst_mac, 6);
}

static void test_lathist(void **state)
{
	static struct lathist h;
	uint64_t p50, p99;

	(void)state;
	lathist_init(&h);
	assert_int_equal(lathist_quantile(&h, 0.5), 0);
	for (uint64_t v = 1; v <= 100000; v++)
		lathist_add(&h, v);
	p50 = lathist_quantile(&h, 0.5);
	p99 = lathist_quantile(&h, 0.99);
	assert_true(p50 >= 50000 * 0.995 && p50 <= 50000 * 1.005);
	assert_true(p99 >= 99000 * 0.995 && p99 <= 99000 * 1.005);
	assert_int_equal(lathist_quantile(&h, 1.0), 100000);
	assert_int_equal(h.min, 1);
	assert_int_equal(h.max, 100000);
	assert_true(lathist_mean(&h) > 50000.4 && lathist_mean(&h) < 50000.6);

	lathist_init(&h);
	for (int i = 0; i < 10; i++)
		lathist_add(&h, 100); /* small values are exact */
	assert_int_equal(lathist_quantile(&h, 0.5), 100);
	lathist_add(&h, UINT64_MAX); /* beyond the top bucket: kept as max */
	assert_int_equal(lathist_quantile(&h, 1.0), UINT64_MAX);
	assert_int_equal(lathist_quantile(&h, 0.5), 100);
}

static void test_flowtrack(void **state)
{
	struct flowtrack *ft = flowtrack_new(4, 1000);
	struct flowtrack_holes h;
	const uint64_t got[] = { 1, 2, 5, 6, 9 };

	(void)state;
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(flowtrack_mark(ft, 2, got[i]), FLOWTRACK_NEW);
	assert_int_equal(flowtrack_mark(ft, 2, 5), FLOWTRACK_DUPLICATE);
	assert_int_equal(flowtrack_mark(ft, 4, 1), FLOWTRACK_OUT_OF_RANGE);
	assert_int_equal(flowtrack_mark(ft, 0, 0), FLOWTRACK_OUT_OF_RANGE);
	assert_int_equal(flowtrack_mark(ft, 0, 1001), FLOWTRACK_OUT_OF_RANGE);
	assert_int_equal(flowtrack_mark(ft, 0, 1000), FLOWTRACK_NEW);
	assert_int_equal(flowtrack_flows(ft), 3);
	assert_int_equal(flowtrack_max_seq(ft, 2), 9);
	assert_int_equal(flowtrack_max_seq(ft, 1), 0);

	flowtrack_holes(ft, 2, 1, 10, &h);
	assert_int_equal(h.missing, 5); /* 3 4 7 8 10 */
	assert_int_equal(h.runs, 3);
	assert_int_equal(h.largest_run, 2);
	assert_int_equal(h.first_missing, 3);
	flowtrack_holes(ft, 2, 5, 6, &h);
	assert_int_equal(h.missing, 0);
	assert_int_equal(h.first_missing, 0);
	flowtrack_holes(ft, 3, 1, 4, &h); /* a flow never seen */
	assert_int_equal(h.missing, 4);

	/* Long ranges, holes on and off 64-bit word boundaries. */
	for (uint64_t s = 1; s <= 300; s++)
		if (s != 64 && s != 65 && s != 200)
			assert_int_equal(flowtrack_mark(ft, 1, s), FLOWTRACK_NEW);
	flowtrack_holes(ft, 1, 1, 300, &h);
	assert_int_equal(h.missing, 3);
	assert_int_equal(h.runs, 2);
	assert_int_equal(h.largest_run, 2);
	assert_int_equal(h.first_missing, 64);
	flowtrack_holes(ft, 1, 129, 192, &h);
	assert_int_equal(h.missing, 0);
	flowtrack_holes(ft, 1, 66, 400, &h);
	assert_int_equal(h.missing, 1 + 100);
	assert_int_equal(h.first_missing, 200);
	flowtrack_free(ft);
}

static void test_pacer(void **state)
{
	struct pacer p;

	(void)state;
	/* 100 packets/s on a 1 kHz clock: one packet every 10 ticks. */
	pacer_init(&p, 1000, 100, 5000, 8);
	assert_int_equal(pacer_due(&p, 5000), 1);
	pacer_sent(&p, 1);
	assert_int_equal(pacer_due(&p, 5005), 0);
	assert_int_equal(pacer_wait(&p, 5005), 5);
	assert_int_equal(pacer_due(&p, 5010), 1);
	assert_int_equal(pacer_due(&p, 5035), 3);
	pacer_sent(&p, 2); /* one stays owed */
	assert_int_equal(pacer_due(&p, 5035), 1);
	assert_int_equal(pacer_wait(&p, 5035), 0);
	assert_int_equal(p.skipped, 0);

	/* Far behind: only max_lag are owed, the rest is skipped. */
	assert_int_equal(pacer_due(&p, 6000), 8);
	assert_int_equal(p.skipped, 101 - 3 - 8);
	pacer_sent(&p, 8);
	assert_int_equal(pacer_due(&p, 6000), 0);
	assert_int_equal(pacer_wait(&p, 6000), 10);

	pacer_init(&p, 1000, 0, 0, 8);
	assert_int_equal(pacer_due(&p, 0), UINT64_MAX);
	assert_int_equal(pacer_wait(&p, 0), 0);
}

static void test_backoff(void **state)
{
	struct backoff b;
	uint64_t s = 0;

	(void)state;
	backoff_init(&b, 20000, 50000, 1000000);
	assert_int_equal(backoff_idle(&b, 1010000), 0); /* still spinning */
	assert_int_equal(backoff_idle(&b, 1020000), 1000);
	assert_int_equal(backoff_idle(&b, 1021000), 2000);
	assert_int_equal(backoff_idle(&b, 1023000), 4000);
	assert_int_equal(backoff_idle(&b, 1027000), 8000);
	assert_int_equal(backoff_idle(&b, 1035000), 16000);
	assert_int_equal(backoff_idle(&b, 1051000), 32000);
	assert_int_equal(backoff_idle(&b, 1083000), 50000);
	assert_int_equal(backoff_idle(&b, 1133000), 50000);
	backoff_work(&b, 1200000);
	assert_int_equal(backoff_idle(&b, 1200001), 0);
	assert_int_equal(backoff_idle(&b, 1220000), 1000);

	/* Idle for long: the sleeps grow to the deep-idle cap, no further. */
	for (int i = 0; i < 20; i++)
		s = backoff_idle(&b, 1200000 + BACKOFF_DEEP_IDLE_NS);
	assert_int_equal(s, BACKOFF_DEEP_SLEEP_NS);
	backoff_work(&b, 1300000 + BACKOFF_DEEP_IDLE_NS);
	assert_int_equal(backoff_idle(&b, 1400000 + BACKOFF_DEEP_IDLE_NS), 1000);

	backoff_init(&b, 0, 0, 0); /* busy polling */
	assert_int_equal(backoff_idle(&b, 1000000000), 0);
}

static struct ftmb_sinkrec sample(uint64_t i)
{
	return (struct ftmb_sinkrec){
		.flow = (uint32_t)(i % 7),
		.src_ip = 0x0a000000u + (uint32_t)(i % 7),
		.src_port = (uint16_t)(10000 + i % 7),
		.frame_len = 90,
		.seq = i / 7 + 1,
		.tx_ns = 1000 * i,
		.rx_ns = 1000 * i + 50,
		.mb_global = i + 1,
		.mb_flow = i / 7 + 1,
	};
}

/* More records than one chunk, with a flush in the middle, come back
 * intact and in order. */
static void test_sinkrec_roundtrip(void **state)
{
	const uint64_t n = 40000;
	char *path = NULL;
	int fd = g_file_open_tmp("ftmb-traffic-test-XXXXXX.rec", &path, NULL);
	struct sinkrec_writer *w;
	struct sinkrec_file f;
	GError *err = NULL;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	w = sinkrec_writer_open(path, &err);
	assert_non_null(w);
	for (uint64_t i = 0; i < n; i++) {
		struct ftmb_sinkrec r = sample(i);

		sinkrec_writer_add(w, &r);
		if (i == 12345)
			sinkrec_writer_flush(w);
	}
	assert_int_equal(sinkrec_writer_count(w), n);
	assert_true(sinkrec_writer_close(w, &err));
	assert_true(sinkrec_file_open(path, &f, &err));
	assert_int_equal(f.count, n);
	for (uint64_t i = 0; i < n; i++) {
		struct ftmb_sinkrec r = sample(i);

		assert_memory_equal(&f.recs[i], &r, sizeof(r));
	}
	sinkrec_file_close(&f);
	unlink(path);
	g_free(path);
}

static void test_sinkrec_writer_bad_path(void **state)
{
	GError *err = NULL;

	(void)state;
	assert_null(sinkrec_writer_open("/nonexistent-dir/x.rec", &err));
	assert_non_null(strstr(err->message, "/nonexistent-dir/x.rec"));
	g_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_frame_flow_addresses),
		cmocka_unit_test(test_frame_bad_checksum_still_parses),
		cmocka_unit_test(test_frame_rejects),
		cmocka_unit_test(test_frame_swap_macs),
		cmocka_unit_test(test_lathist),
		cmocka_unit_test(test_flowtrack),
		cmocka_unit_test(test_pacer),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_sinkrec_roundtrip),
		cmocka_unit_test(test_sinkrec_writer_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
