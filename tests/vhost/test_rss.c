// SPDX-License-Identifier: GPL-2.0-or-later
/* Software RSS (rss.c): Microsoft's published Toeplitz verification vectors
 * with the default key, and frames that are not what they claim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "rss.h"

/* Ethernet + IPv4 (+ 4 bytes of ports) in network byte order. */
static uint32_t v4_frame(uint8_t *f, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, uint8_t proto, uint16_t frag)
{
	uint16_t be;

	memset(f, 0, 64);
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	f[14 + 9] = proto;
	be = htons(frag);
	memcpy(f + 14 + 6, &be, 2);
	inet_pton(AF_INET, src, f + 14 + 12);
	inet_pton(AF_INET, dst, f + 14 + 16);
	be = htons(sport);
	memcpy(f + 34, &be, 2);
	be = htons(dport);
	memcpy(f + 36, &be, 2);
	return 64;
}

static uint32_t v6_frame(uint8_t *f, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, uint8_t proto)
{
	uint16_t be;

	memset(f, 0, 80);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[14 + 6] = proto;
	inet_pton(AF_INET6, src, f + 14 + 8);
	inet_pton(AF_INET6, dst, f + 14 + 24);
	be = htons(sport);
	memcpy(f + 54, &be, 2);
	be = htons(dport);
	memcpy(f + 56, &be, 2);
	return 80;
}

struct v4_vector {
	const char *dst, *src;
	uint16_t dport, sport;
	uint32_t ip_only, with_tcp;
};

static const struct v4_vector v4[] = {
	{ "161.142.100.80", "66.9.149.187", 1766, 2794, 0x323e8fc2, 0x51ccc178 },
	{ "65.69.140.83", "199.92.111.2", 4739, 14230, 0xd718262a, 0xc626b0ea },
	{ "12.22.207.184", "24.19.198.95", 38024, 12898, 0xd2d0a5de, 0x5c2b394a },
	{ "209.142.163.6", "38.27.205.30", 2217, 48228, 0x82989176, 0xafc7327f },
	{ "202.188.127.2", "153.39.163.191", 1303, 44251, 0x5d1809c5, 0x10e828a2 },
};

static void ipv4_vectors(void **state)
{
	uint8_t f[128];
	uint32_t h;

	(void)state;
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		uint32_t len = v4_frame(f, v4[i].src, v4[i].sport, v4[i].dst, v4[i].dport, 6, 0);

		assert_true(rss_hash(f, len, &h));
		assert_int_equal(h, v4[i].with_tcp);
		/* Other protocols hash the addresses only. */
		v4_frame(f, v4[i].src, v4[i].sport, v4[i].dst, v4[i].dport, 1, 0);
		assert_true(rss_hash(f, len, &h));
		assert_int_equal(h, v4[i].ip_only);
		/* So do fragments after the first, which carry no ports. */
		v4_frame(f, v4[i].src, v4[i].sport, v4[i].dst, v4[i].dport, 17, 100);
		assert_true(rss_hash(f, len, &h));
		assert_int_equal(h, v4[i].ip_only);
	}
}

static void ipv6_vector(void **state)
{
	uint8_t f[128];
	uint32_t h, len;

	(void)state;
	len = v6_frame(f, "3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 6);
	assert_true(rss_hash(f, len, &h));
	assert_int_equal(h, 0x40207d3d);
	len = v6_frame(f, "3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 58);
	assert_true(rss_hash(f, len, &h));
	assert_int_equal(h, 0x2cc18cd5);
}

static void queue_follows_the_indirection_table(void **state)
{
	uint8_t f[128];
	uint32_t len = v4_frame(f, v4[0].src, v4[0].sport, v4[0].dst, v4[0].dport, 6, 0);

	(void)state;
	for (uint16_t n = 1; n <= 16; n++)
		assert_int_equal(rss_queue(f, len, n), (v4[0].with_tcp % 128) % n);
}

static void non_ip_and_broken_frames_go_to_queue_0(void **state)
{
	uint8_t f[128];
	uint32_t len = v4_frame(f, v4[1].src, v4[1].sport, v4[1].dst, v4[1].dport, 6, 0), h;

	(void)state;
	assert_int_not_equal(rss_queue(f, len, 4), 0); /* this flow: queue (0xc626b0ea % 128) % 4 */
	for (uint32_t cut = 0; cut < 34; cut++)
		assert_int_equal(rss_queue(f, cut, 4), 0); /* truncated before the addresses */
	f[14] = 0x41; /* IHL below 5 */
	assert_false(rss_hash(f, len, &h));
	f[14] = 0x45;
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	assert_int_equal(rss_queue(f, len, 4), 0);
	assert_false(rss_hash(f, 10, &h));
}

static void vlan_tagged_frames_hash_their_inner_header(void **state)
{
	uint8_t plain[128], tagged[132];
	uint32_t len = v4_frame(plain, v4[2].src, v4[2].sport, v4[2].dst, v4[2].dport, 17, 0), h;

	(void)state;
	memcpy(tagged, plain, 12);
	tagged[12] = 0x81;
	tagged[13] = 0x00;
	tagged[14] = 0;
	tagged[15] = 42;
	memcpy(tagged + 16, plain + 12, len - 12);
	assert_true(rss_hash(tagged, len + 4, &h));
	assert_int_equal(h, v4[2].with_tcp); /* UDP hashes like TCP */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv4_vectors),
		cmocka_unit_test(ipv6_vector),
		cmocka_unit_test(queue_follows_the_indirection_table),
		cmocka_unit_test(non_ip_and_broken_frames_go_to_queue_0),
		cmocka_unit_test(vlan_tagged_frames_hash_their_inner_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
