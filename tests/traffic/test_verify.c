// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The verifier's negative controls: clean synthetic runs pass, and every
 * kind of violation is caught and named with the packets involved; exact
 * duplicates pass; malformed record files are refused with a clear reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "sinkrec.h"
#include "verify.h"

#define MS 1000000ull
#define FLOWS 4
#define PER_FLOW 50
#define MAX_RECS 1024

/* A synthetic sink recording, built record by record. */
struct recs {
	struct ftmb_sinkrec r[MAX_RECS];
	size_t n;
};

static struct ftmb_sinkrec *add(struct recs *rs, uint32_t flow, uint64_t seq, uint64_t tx_ns,
				uint64_t global, uint64_t flow_count)
{
	struct ftmb_sinkrec *r = &rs->r[rs->n++];

	assert_true(rs->n <= MAX_RECS);
	*r = (struct ftmb_sinkrec){
		.flow = flow,
		.src_ip = 0x0a000000u + flow,
		.src_port = (uint16_t)(10000 + flow),
		.frame_len = 90,
		.seq = seq,
		.tx_ns = tx_ns,
		.rx_ns = tx_ns + 20000,
		.mb_global = global,
		.mb_flow = flow_count,
	};
	return r;
}

/*
 * FLOWS flows round-robin, one packet per millisecond, stamped by a
 * monitor that never saw every 9th packet of flow 0 (lost before it): its
 * global and per-flow counts skip nothing it did not see, so they are clean.
 */
static void clean_run(struct recs *rs)
{
	uint64_t global = 0, flow_count[FLOWS] = { 0 }, i = 0;

	rs->n = 0;
	for (uint64_t seq = 1; seq <= PER_FLOW; seq++) {
		for (uint32_t f = 0; f < FLOWS; f++, i++) {
			if (f == 0 && seq % 9 == 0)
				continue;
			add(rs, f, seq, i * MS, ++global, ++flow_count[f]);
		}
	}
}

static struct ftmb_sinkrec *find(struct recs *rs, uint32_t flow, uint64_t seq)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].flow == flow && rs->r[i].seq == seq)
			return &rs->r[i];
	fail_msg("no record for flow %u seq %lu", flow, (unsigned long)seq);
	return NULL;
}

/* Runs the verifier over rs as one file; returns the violation kind or
 * NULL, and leaves the result in *out (valid until the next call). */
static struct verifier *last;

static const char *verify(struct recs *rs, enum verify_mb mb, uint64_t idle_ns,
			  const struct verify_result **out)
{
	verifier_free(last);
	last = verifier_new(mb, idle_ns);
	verifier_add(last, "synthetic", rs->r, rs->n);
	verifier_finish(last);
	*out = verifier_result(last);
	return (*out)->kind;
}

static int teardown(void **state)
{
	(void)state;
	verifier_free(last);
	last = NULL;
	return 0;
}

static void assert_packet(const struct verify_result *res, unsigned int i, uint32_t flow,
			  uint64_t seq)
{
	assert_true(i < res->npkts);
	assert_int_equal(res->pkts[i].rec->flow, flow);
	assert_int_equal(res->pkts[i].rec->seq, seq);
	assert_string_equal(res->pkts[i].file, "synthetic");
}

static void test_monitor_clean(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	clean_run(&rs);
	assert_null(verify(&rs, VERIFY_MONITOR, 0, &res));
	assert_int_equal(res->records, rs.n);
	assert_int_equal(res->packets, rs.n);
	assert_int_equal(res->flows, FLOWS);
	assert_int_equal(res->duplicates, 0);
}

/* Replay after a failover re-releases outputs identically: allowed. */
static void test_monitor_exact_duplicates_pass(void **state)
{
	static struct recs rs;
	const struct verify_result *res;
	size_t n;

	(void)state;
	clean_run(&rs);
	n = rs.n;
	for (size_t i = n - 10; i < n; i++) {
		rs.r[rs.n] = rs.r[i];
		rs.r[rs.n++].rx_ns += 50 * MS; /* arrives again, later */
	}
	assert_null(verify(&rs, VERIFY_MONITOR, 0, &res));
	assert_int_equal(res->duplicates, 10);
	assert_int_equal(res->packets, n);
}

static void test_monitor_global_reused(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	clean_run(&rs);
	find(&rs, 2, 30)->mb_global = find(&rs, 1, 5)->mb_global;
	assert_string_equal(verify(&rs, VERIFY_MONITOR, 0, &res), "global-reused");
	assert_packet(res, 0, 1, 5);
	assert_packet(res, 1, 2, 30);
	assert_non_null(strstr(res->message, "two different packets"));
}

static void test_monitor_unstamped(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	rs.n = 0;
	add(&rs, 0, 1, 0, 0, 0);
	add(&rs, 1, 1, MS, 0, 0);
	assert_string_equal(verify(&rs, VERIFY_MONITOR, 0, &res), "global-reused");
	assert_non_null(strstr(res->message, "stamped by a monitor at all"));
}

static void test_monitor_flow_count_backwards(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	clean_run(&rs);
	find(&rs, 1, 20)->mb_flow = find(&rs, 1, 19)->mb_flow - 1;
	assert_string_equal(verify(&rs, VERIFY_MONITOR, 0, &res), "flow-count-order");
	assert_packet(res, 0, 1, 19);
	assert_packet(res, 1, 1, 20);
}

static void test_monitor_flow_count_repeats(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	clean_run(&rs);
	find(&rs, 3, 40)->mb_flow = find(&rs, 3, 39)->mb_flow;
	assert_string_equal(verify(&rs, VERIFY_MONITOR, 0, &res), "flow-count-order");
	assert_packet(res, 0, 3, 39);
	assert_packet(res, 1, 3, 40);
}

/* Arrival order is not seq order (two sinks, a replay): what counts is
 * that mb_flow rises with seq. */
static void test_monitor_out_of_order_arrival(void **state)
{
	static struct recs rs;
	const struct verify_result *res;
	struct ftmb_sinkrec tmp;

	(void)state;
	rs.n = 0;
	add(&rs, 0, 1, 0, 1, 1);
	add(&rs, 0, 3, 2 * MS, 3, 3);
	add(&rs, 0, 2, 1 * MS, 2, 2);
	assert_null(verify(&rs, VERIFY_MONITOR, 0, &res));

	/* seq 2 arriving last with a count above seq 3's is caught. */
	rs.r[2].mb_flow = 4;
	assert_string_equal(verify(&rs, VERIFY_MONITOR, 0, &res), "flow-count-order");
	assert_packet(res, 0, 0, 2);
	assert_packet(res, 1, 0, 3);

	/* and so is one below seq 1's */
	rs.r[2].mb_flow = 1;
	tmp = rs.r[1];
	rs.r[1] = rs.r[2];
	rs.r[2] = tmp;
	assert_string_equal(verify(&rs, VERIFY_MONITOR, 0, &res), "flow-count-order");
	assert_packet(res, 0, 0, 1);
	assert_packet(res, 1, 0, 2);
}

static void test_monitor_release_differs(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	clean_run(&rs);
	rs.r[rs.n] = *find(&rs, 2, 10);
	rs.r[rs.n++].mb_global += 100000; /* the replica counted it differently */
	assert_string_equal(verify(&rs, VERIFY_MONITOR, 0, &res), "release-differs");
	assert_packet(res, 0, 2, 10);
	assert_packet(res, 1, 2, 10);
	assert_int_equal(res->pkts[1].index, rs.n - 1);
}

/* Of two violations, the one met first in the records is reported. */
static void test_monitor_first_violation(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	clean_run(&rs);
	find(&rs, 0, 44)->mb_flow = 1; /* later in the file */
	find(&rs, 1, 10)->mb_global = find(&rs, 0, 2)->mb_global;
	assert_string_equal(verify(&rs, VERIFY_MONITOR, 0, &res), "global-reused");
	assert_packet(res, 1, 1, 10);
}

/* NAT: every flow keeps its own port, one packet per flow every 4 ms. */
static void nat_run(struct recs *rs)
{
	clean_run(rs);
}

static void set_mapping(struct recs *rs, uint32_t flow, uint64_t from_seq, uint32_t ip,
			uint16_t port)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].flow == flow && rs->r[i].seq >= from_seq) {
			rs->r[i].src_ip = ip;
			rs->r[i].src_port = port;
		}
}

static void take_mapping(struct ftmb_sinkrec *r, const struct ftmb_sinkrec *from)
{
	r->src_ip = from->src_ip;
	r->src_port = from->src_port;
}

static void test_nat_clean(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	nat_run(&rs);
	assert_null(verify(&rs, VERIFY_NAT, 1000 * MS, &res));
	assert_int_equal(res->flows, FLOWS);
	assert_int_equal(res->lifetimes, FLOWS);
	assert_int_equal(res->remaps, 0);
}

static void test_nat_mapping_changed(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	nat_run(&rs);
	set_mapping(&rs, 2, 30, 0xc0000201, 40000); /* mid-flow, 4 ms after seq 29 */
	assert_string_equal(verify(&rs, VERIFY_NAT, 1000 * MS, &res), "mapping-changed");
	assert_packet(res, 0, 2, 29);
	assert_packet(res, 1, 2, 30);
	assert_non_null(strstr(res->message, "192.0.2.1:40000"));
}

/* A flow whose packets stop for longer than the idle expiry may come back
 * with a new mapping, and its old port may go to another flow meanwhile. */
static void test_nat_remap_after_expiry(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	rs.n = 0;
	for (uint64_t s = 1; s <= 5; s++)
		add(&rs, 0, s, s * MS, 0, 0);
	for (uint64_t s = 1; s <= 5; s++) /* flow 1 takes flow 0's port in the gap */
		take_mapping(add(&rs, 1, s, 200 * MS + s * MS, 0, 0), &rs.r[0]);
	for (uint64_t s = 6; s <= 10; s++)
		add(&rs, 0, s, 400 * MS + s * MS, 0, 0)->src_port = 20000;
	assert_null(verify(&rs, VERIFY_NAT, 100 * MS, &res));
	assert_int_equal(res->remaps, 1);
	assert_int_equal(res->lifetimes, 3);

	/* With a 1000 ms expiry, the same change is a violation. */
	assert_string_equal(verify(&rs, VERIFY_NAT, 1000 * MS, &res), "mapping-changed");
	assert_packet(res, 0, 0, 5);
	assert_packet(res, 1, 0, 6);
}

static void test_nat_port_shared(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	nat_run(&rs);
	set_mapping(&rs, 3, 1, 0x0a000001, 10001); /* flow 3 holds flow 1's mapping */
	assert_string_equal(verify(&rs, VERIFY_NAT, 1000 * MS, &res), "port-shared");
	assert_int_equal(res->npkts, 4);
	assert_packet(res, 0, 1, 1);
	assert_packet(res, 1, 1, PER_FLOW);
	assert_packet(res, 2, 3, 1);
	assert_packet(res, 3, 3, PER_FLOW);
	assert_non_null(strstr(res->message, "10.0.0.1:10001"));
}

/* One port used by two flows one after the other is fine. */
static void test_nat_port_reused_in_turn(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	rs.n = 0;
	for (uint64_t s = 1; s <= 5; s++)
		add(&rs, 0, s, s * MS, 0, 0);
	for (uint64_t s = 1; s <= 5; s++)
		take_mapping(add(&rs, 1, s, 10 * MS + s * MS, 0, 0), &rs.r[0]);
	assert_null(verify(&rs, VERIFY_NAT, 1000 * MS, &res));

	/* ... but not when flow 1's first packet comes before flow 0's last */
	rs.r[5].tx_ns = 4 * MS;
	assert_string_equal(verify(&rs, VERIFY_NAT, 1000 * MS, &res), "port-shared");
	assert_packet(res, 0, 0, 1);
	assert_packet(res, 2, 1, 1);
}

static void test_nat_duplicates(void **state)
{
	static struct recs rs;
	const struct verify_result *res;

	(void)state;
	nat_run(&rs);
	rs.r[rs.n] = *find(&rs, 0, 7);
	rs.n++;
	assert_null(verify(&rs, VERIFY_NAT, 1000 * MS, &res));
	assert_int_equal(res->duplicates, 1);

	rs.r[rs.n - 1].src_port = 33333; /* released again with another mapping */
	assert_string_equal(verify(&rs, VERIFY_NAT, 1000 * MS, &res), "release-differs");
	assert_packet(res, 0, 0, 7);
	assert_packet(res, 1, 0, 7);
}

/* Records spread over files are checked as one run, and each named packet
 * says which file it came from. */
static void test_several_files(void **state)
{
	static struct recs rs;
	struct verifier *v = verifier_new(VERIFY_MONITOR, 0);
	const struct verify_result *res;
	size_t half;

	(void)state;
	clean_run(&rs);
	half = rs.n / 2;
	rs.r[rs.n - 1].mb_global = rs.r[0].mb_global;
	assert_true(verifier_add(v, "first.rec", rs.r, half));
	assert_false(verifier_add(v, "second.rec", rs.r + half, rs.n - half));
	assert_false(verifier_finish(v));
	res = verifier_result(v);
	assert_string_equal(res->kind, "global-reused");
	assert_string_equal(res->pkts[0].file, "first.rec");
	assert_int_equal(res->pkts[0].index, 0);
	assert_string_equal(res->pkts[1].file, "second.rec");
	assert_int_equal(res->pkts[1].index, rs.n - half - 1);
	verifier_free(v);
}

/* Writes bytes to a fresh temporary file; returns its path (g_free). */
static char *temp_file(const void *data, size_t len)
{
	char *path = NULL;
	int fd = g_file_open_tmp("ftmb-verify-test-XXXXXX.rec", &path, NULL);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Opening must fail with a message naming the file and containing what. */
static void assert_refused(const void *data, size_t len, const char *what)
{
	char *path = temp_file(data, len);
	struct sinkrec_file f;
	GError *err = NULL;

	assert_false(sinkrec_file_open(path, &f, &err));
	assert_non_null(err);
	assert_non_null(strstr(err->message, path));
	if (!strstr(err->message, what))
		fail_msg("\"%s\" does not say \"%s\"", err->message, what);
	g_error_free(err);
	unlink(path);
	g_free(path);
}

static void test_files_malformed(void **state)
{
	struct {
		struct ftmb_sinkrec_header h;
		struct ftmb_sinkrec r[2];
	} file = {
		.h = { FTMB_SINKREC_MAGIC, FTMB_SINKREC_VERSION, sizeof(struct ftmb_sinkrec), 0 },
	};
	const size_t whole = sizeof(file);

	(void)state;
	assert_refused(&file, 0, "truncated header");
	assert_refused(&file, 10, "truncated header");
	assert_refused(&file, whole - 20, "truncated: record 1 is cut after 36 of its 56 bytes");
	file.h.magic = 0x12345678;
	assert_refused(&file, whole, "bad magic 0x12345678");
	file.h.magic = FTMB_SINKREC_MAGIC;
	file.h.record_size = 64;
	assert_refused(&file, whole, "record size 64");
	file.h.record_size = sizeof(struct ftmb_sinkrec);
	file.h.version = 2;
	assert_refused(&file, whole, "version 2");
	file.h.version = FTMB_SINKREC_VERSION;
	file.h.reserved = 1;
	assert_refused(&file, whole, "reserved");
}

static void test_files_valid(void **state)
{
	struct ftmb_sinkrec_header h = { FTMB_SINKREC_MAGIC, FTMB_SINKREC_VERSION,
					 sizeof(struct ftmb_sinkrec), 0 };
	char *path = temp_file(&h, sizeof(h));
	struct sinkrec_file f;
	GError *err = NULL;

	(void)state;
	assert_true(sinkrec_file_open(path, &f, &err)); /* no records is valid */
	assert_int_equal(f.count, 0);
	sinkrec_file_close(&f);
	unlink(path);
	g_free(path);

	assert_false(sinkrec_file_open("/nonexistent/sink.rec", &f, &err));
	assert_non_null(strstr(err->message, "/nonexistent/sink.rec"));
	g_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_monitor_clean, teardown),
		cmocka_unit_test_teardown(test_monitor_exact_duplicates_pass, teardown),
		cmocka_unit_test_teardown(test_monitor_global_reused, teardown),
		cmocka_unit_test_teardown(test_monitor_unstamped, teardown),
		cmocka_unit_test_teardown(test_monitor_flow_count_backwards, teardown),
		cmocka_unit_test_teardown(test_monitor_flow_count_repeats, teardown),
		cmocka_unit_test_teardown(test_monitor_out_of_order_arrival, teardown),
		cmocka_unit_test_teardown(test_monitor_release_differs, teardown),
		cmocka_unit_test_teardown(test_monitor_first_violation, teardown),
		cmocka_unit_test_teardown(test_nat_clean, teardown),
		cmocka_unit_test_teardown(test_nat_mapping_changed, teardown),
		cmocka_unit_test_teardown(test_nat_remap_after_expiry, teardown),
		cmocka_unit_test_teardown(test_nat_port_shared, teardown),
		cmocka_unit_test_teardown(test_nat_port_reused_in_turn, teardown),
		cmocka_unit_test_teardown(test_nat_duplicates, teardown),
		cmocka_unit_test(test_several_files),
		cmocka_unit_test(test_files_malformed),
		cmocka_unit_test(test_files_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
