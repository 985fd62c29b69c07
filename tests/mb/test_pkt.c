// SPDX-License-Identifier: GPL-2.0-or-later
/* The middleboxes' frame parser and rewriter: checksums stay correct after
 * NAT rewrites, and malformed frames are refused. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pkt.h"

#define ETH 14

/* Internet checksum over data, plus a starting sum. */
static uint16_t csum(const uint8_t *d, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (len & 1)
		sum += (uint32_t)d[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint16_t l4_csum(const uint8_t *ip, size_t l4_len, uint8_t proto)
{
	uint32_t pseudo = 0;

	for (int i = 12; i < 20; i += 2)
		pseudo += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	pseudo += proto + (uint32_t)l4_len;
	return csum(ip + 20, l4_len, pseudo);
}

/* An Ethernet + IPv4 + (UDP|TCP) frame with correct checksums. */
static size_t build(uint8_t *f, uint8_t proto, size_t payload)
{
	size_t l4 = proto == 17 ? 8 : 20, len = ETH + 20 + l4 + payload;
	uint8_t *ip = f + ETH;
	uint16_t c;

	memset(f, 0, len);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((len - ETH) >> 8), ip[3] = (uint8_t)(len - ETH);
	ip[8] = 64, ip[9] = proto;
	memcpy(ip + 12, "\x0a\x01\x02\x03\xc6\x33\x64\x01", 8);
	ip[20] = 0x30, ip[21] = 0x39; /* sport 12345 */
	ip[23] = 7;
	if (proto == 17)
		ip[24] = (uint8_t)((8 + payload) >> 8), ip[25] = (uint8_t)(8 + payload);
	else
		ip[32] = 5 << 4;
	for (size_t i = 0; i < payload; i++)
		ip[20 + l4 + i] = (uint8_t)(i * 13);
	c = csum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	c = l4_csum(ip, l4 + payload, proto);
	ip[20 + (proto == 17 ? 6 : 16)] = (uint8_t)(c >> 8);
	ip[20 + (proto == 17 ? 7 : 17)] = (uint8_t)c;
	return len;
}

static void check_sums(const uint8_t *f, size_t len, uint8_t proto)
{
	assert_int_equal(csum(f + ETH, 20, 0), 0);
	assert_int_equal(l4_csum(f + ETH, len - ETH - 20, proto), 0);
}

static void rewrite_keeps_checksums(uint8_t proto, size_t payload)
{
	uint8_t f[200];
	size_t len = build(f, proto, payload);
	struct pkt p;
	struct pkt_flow fl;

	check_sums(f, len, proto);
	assert_int_equal(pkt_parse(f, len, &p), 0);
	pkt_flow_of(&p, &fl);
	assert_int_equal(fl.src_ip, 0x0a010203);
	assert_int_equal(fl.src_port, 12345);
	assert_int_equal(fl.dst_port, 7);
	pkt_set_src(&p, 0xc0000201, 40000);
	check_sums(f, len, proto);
	pkt_set_dst(&p, 0x0a000009, 65535);
	check_sums(f, len, proto);
	pkt_flow_of(&p, &fl);
	assert_int_equal(fl.src_ip, 0xc0000201);
	assert_int_equal(fl.src_port, 40000);
	assert_int_equal(fl.dst_ip, 0x0a000009);
}

static void test_udp_rewrite(void **state)
{
	(void)state;
	rewrite_keeps_checksums(17, 48);
	rewrite_keeps_checksums(17, 7);
}

static void test_tcp_rewrite(void **state)
{
	(void)state;
	rewrite_keeps_checksums(6, 100);
	rewrite_keeps_checksums(6, 0);
}

static void test_malformed_refused(void **state)
{
	uint8_t f[200];
	size_t len = build(f, 17, 48);
	struct pkt p;

	(void)state;
	assert_int_equal(pkt_parse(f, 20, &p), -1);          /* shorter than headers */
	assert_int_equal(pkt_parse(f, len - 1, &p), -1);     /* IP length beyond the frame */
	f[ETH] = 0x44;                                       /* IHL 16 bytes */
	assert_int_equal(pkt_parse(f, len, &p), -1);
	f[ETH] = 0x45;
	f[ETH + 6] = 0x20;                                   /* more fragments */
	assert_int_equal(pkt_parse(f, len, &p), -1);
	f[ETH + 6] = 0;
	f[12] = 0x86, f[13] = 0xdd;                          /* IPv6 ethertype */
	assert_int_equal(pkt_parse(f, len, &p), -1);
	len = build(f, 6, 10);
	f[ETH + 32] = 15 << 4;                               /* TCP header past the end */
	assert_int_equal(pkt_parse(f, len, &p), -1);
	len = build(f, 17, 48);
	assert_int_equal(pkt_parse(f, len, &p), 0);
	assert_null(pkt_testpkt(&p));                        /* not a test payload */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_rewrite),
		cmocka_unit_test(test_tcp_rewrite),
		cmocka_unit_test(test_malformed_refused),
	};

	return cmocka_run_group_tests_name("pkt", tests, NULL, NULL);
}
