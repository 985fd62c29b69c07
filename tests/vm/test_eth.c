// SPDX-License-Identifier: GPL-2.0-or-later
/* The Ethernet and ARP handling of the middleboxes on a shared segment
 * (guest-shim/examples/eth.c): ARP requests for an owned address become
 * correct replies in place; anything else, malformed or truncated, is left
 * alone; MAC parsing refuses what is not six hex bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "eth.h"

#define ARP_FRAME_LEN 42

static const struct eth_addr asker = { { 0x02, 0, 0, 0, 0x0c, 0x02 } };
static const struct eth_addr ours = { { 0x02, 0xf7, 0, 0, 0, 0x01 } };
static const uint32_t owned[] = { 0xcb007101u /* 203.0.113.1 */, 0x0a4d0001u /* 10.77.0.1 */ };

/* A broadcast "who has target? tell 10.77.0.2" from asker. */
static void build_request(uint8_t *f, uint32_t target)
{
	static const uint8_t head[] = { 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1 };

	memset(f, 0, 60);
	memcpy(f, eth_broadcast.b, 6);
	memcpy(f + 6, asker.b, 6);
	memcpy(f + 12, head, sizeof(head));
	memcpy(f + 22, asker.b, 6);
	memcpy(f + 28, "\x0a\x4d\x00\x02", 4);
	f[38] = (uint8_t)(target >> 24), f[39] = (uint8_t)(target >> 16);
	f[40] = (uint8_t)(target >> 8), f[41] = (uint8_t)target;
}

static void answers_owned_addresses(void **state)
{
	uint8_t f[60];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		build_request(f, owned[i]);
		assert_true(arp_answer(f, sizeof(f), owned, 2, &ours));
		assert_memory_equal(f, asker.b, 6);      /* to the asker */
		assert_memory_equal(f + 6, ours.b, 6);   /* from us */
		assert_int_equal(f[21], 2);              /* reply */
		assert_memory_equal(f + 22, ours.b, 6);  /* sender: us */
		assert_int_equal((uint32_t)f[28] << 24 | (uint32_t)f[29] << 16 | (uint32_t)f[30] << 8 | f[31],
				 owned[i]);
		assert_memory_equal(f + 32, asker.b, 6); /* target: the asker */
		assert_memory_equal(f + 38, "\x0a\x4d\x00\x02", 4);
	}
}

static void leaves_the_rest_alone(void **state)
{
	uint8_t f[60], copy[60];
	static const struct {
		size_t off;
		uint8_t val;
	} breaks[] = {
		{ 13, 0x00 }, /* ethertype IPv4 */
		{ 15, 6 },    /* hardware type */
		{ 16, 0x86 }, /* protocol type */
		{ 18, 8 },    /* hardware length */
		{ 19, 16 },   /* protocol length */
		{ 21, 2 },    /* a reply, not a request */
		{ 41, 9 },    /* someone else's address */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		build_request(f, owned[0]);
		f[breaks[i].off] = breaks[i].val;
		memcpy(copy, f, sizeof(f));
		assert_false(arp_answer(f, sizeof(f), owned, 2, &ours));
		assert_memory_equal(f, copy, sizeof(f));
	}
	build_request(f, owned[0]);
	assert_false(arp_answer(f, ARP_FRAME_LEN - 1, owned, 2, &ours)); /* truncated */
	assert_false(arp_answer(f, sizeof(f), owned, 0, &ours));          /* owns nothing */
	assert_true(arp_answer(f, ARP_FRAME_LEN, owned, 2, &ours));       /* unpadded */
}

static void parses_and_swaps_macs(void **state)
{
	static const char *const bad[] = { "02:00:00:00:00", "02:00:00:00:00:01:02",
					   "02:00:00:00:00:0g", "0200:00:00:00:01", "",
					   "02:00:00:00:00:01x", "02:00:00:00:00:100" };
	uint8_t f[14] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0 };
	struct eth_addr a;
	char text[18];

	(void)state;
	assert_true(eth_parse("02:F7:00:00:00:01", &a));
	assert_true(eth_equal(&a, &ours));
	assert_string_equal(eth_format(&a, text), "02:f7:00:00:00:01");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(eth_parse(bad[i], &a));
	eth_swap(f);
	assert_memory_equal(f, "\x07\x08\x09\x0a\x0b\x0c\x01\x02\x03\x04\x05\x06\x08\x00", 14);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_owned_addresses),
		cmocka_unit_test(leaves_the_rest_alone),
		cmocka_unit_test(parses_and_swaps_macs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
