// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The parsers of libvirt_domains.c: the <ftmb:protection> metadata, good and
 * malformed, and the domain XML, starting from hostd/examples/protected-nat.xml
 * (so that the example stays valid) and breaking one thing at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvirt_domains.h"

#define EXAMPLE "hostd/examples/protected-nat.xml"
#define NS "xmlns:ftmb='" LIBVIRT_FTMB_NS "'"

/* --- metadata ----------------------------------------------------------------- */

static void test_protection_full(void **state)
{
	struct libvirt_protection p;
	GError *err = NULL;

	(void)state;
	assert_true(libvirt_protection_parse("<ftmb:protection " NS " backup='hostB' "
					     "interval-ms='20' policy='degrade' threads='2'/>",
					     &p, &err));
	assert_null(err);
	assert_string_equal(p.backup, "hostB");
	assert_int_equal(p.interval_ms, 20);
	assert_int_equal(p.policy, HOSTD_POLICY_DEGRADE);
	assert_int_equal(p.threads, 2);
	libvirt_protection_clear(&p);
}

/* With a default namespace, and the defaults. */
static void test_protection_defaults(void **state)
{
	struct libvirt_protection p;

	(void)state;
	assert_true(libvirt_protection_parse("<protection xmlns=\"" LIBVIRT_FTMB_NS "\" "
					     "backup=\"b-2.x_y\">\n  </protection>",
					     &p, NULL));
	assert_string_equal(p.backup, "b-2.x_y");
	assert_int_equal(p.interval_ms, 50);
	assert_int_equal(p.policy, HOSTD_POLICY_HALT);
	assert_int_equal(p.threads, 1);
	libvirt_protection_clear(&p);
}

/* As virDomainGetMetadata() returns it (libvirt 9.0): no namespace left. */
static void test_protection_from_libvirt(void **state)
{
	struct libvirt_protection p;

	(void)state;
	assert_true(libvirt_protection_parse("<protection backup=\"hostB\" interval-ms=\"50\" "
					     "policy=\"degrade\" threads=\"2\"/>\n",
					     &p, NULL));
	assert_string_equal(p.backup, "hostB");
	assert_int_equal(p.threads, 2);
	libvirt_protection_clear(&p);
}

static void test_protection_limits(void **state)
{
	struct libvirt_protection p;

	(void)state;
	assert_true(libvirt_protection_parse("<ftmb:protection " NS " backup='"
					     "a23456789012345678901234567890123456789012345678901"
					     "234567890123' interval-ms='10000' threads='16' "
					     "policy='halt'/>",
					     &p, NULL));
	assert_int_equal(strlen(p.backup), 63);
	assert_int_equal(p.interval_ms, 10000);
	assert_int_equal(p.threads, 16);
	libvirt_protection_clear(&p);
	assert_true(libvirt_protection_parse("<ftmb:protection " NS " backup='h' interval-ms='1'/>",
					     &p, NULL));
	assert_int_equal(p.interval_ms, 1);
	libvirt_protection_clear(&p);
}

struct bad_case {
	const char *xml;
	int code;
	const char *says; /* a fragment of the message */
};

static const struct bad_case bad_metadata[] = {
	{ "<ftmb:protection " NS " backup='h'", LIBVIRT_DOMAINS_ERROR_XML, "not well-formed" },
	{ "", LIBVIRT_DOMAINS_ERROR_XML, "not well-formed" },
	{ "<ftmb:protection " NS " backup='h' backup='i'/>", LIBVIRT_DOMAINS_ERROR_XML,
	  "redefined" },
	{ "<p:protection xmlns:p='https://ftmb.dev/xmlns/protection/2' backup='h'/>",
	  LIBVIRT_DOMAINS_ERROR_INVALID, "found <protection> in https://ftmb.dev/xmlns/protection/2" },
	{ "<ftmb:replica " NS " backup='h'/>", LIBVIRT_DOMAINS_ERROR_INVALID, "found <replica>" },
	{ "<ftmb:protection " NS "/>", LIBVIRT_DOMAINS_ERROR_INVALID, "backup=\"HOST\" is missing" },
	{ "<ftmb:protection " NS " interval-ms='50'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "is missing" },
	{ "<ftmb:protection " NS " backup=''/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "backup=\"\": expected a host name" },
	{ "<ftmb:protection " NS " backup='host B'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "backup=\"host B\"" },
	{ "<ftmb:protection " NS " backup='h/../x'/>", LIBVIRT_DOMAINS_ERROR_INVALID, "backup=" },
	{ "<ftmb:protection " NS " backup='a234567890123456789012345678901234567890123456789012345"
	  "678901234'/>",
	  LIBVIRT_DOMAINS_ERROR_INVALID, "1 to 63" },
	{ "<ftmb:protection " NS " backup='h' interval-ms='0'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "interval-ms=\"0\": expected the checkpoint interval in milliseconds, a whole number "
	  "from 1 to 10000" },
	{ "<ftmb:protection " NS " backup='h' interval-ms='10001'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "interval-ms=\"10001\"" },
	{ "<ftmb:protection " NS " backup='h' interval-ms='50ms'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "interval-ms=\"50ms\"" },
	{ "<ftmb:protection " NS " backup='h' interval-ms=' 50'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "interval-ms=\" 50\"" },
	{ "<ftmb:protection " NS " backup='h' interval-ms='-1'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "interval-ms=\"-1\"" },
	{ "<ftmb:protection " NS " backup='h' interval-ms=''/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "interval-ms=\"\"" },
	{ "<ftmb:protection " NS " backup='h' interval-ms='18446744073709551666'/>",
	  LIBVIRT_DOMAINS_ERROR_INVALID, "interval-ms=\"18446744073709551666\"" },
	{ "<ftmb:protection " NS " backup='h' policy='Halt'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "policy=\"Halt\": expected halt or degrade" },
	{ "<ftmb:protection " NS " backup='h' policy=''/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "policy=\"\"" },
	{ "<ftmb:protection " NS " backup='h' threads='0'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "threads=\"0\": expected the number of middlebox threads, a whole number from 1 to 16" },
	{ "<ftmb:protection " NS " backup='h' threads='17'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "threads=\"17\"" },
	{ "<ftmb:protection " NS " backup='h' threads='0x2'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "threads=\"0x2\"" },
	{ "<ftmb:protection " NS " backup='h' intervall-ms='50'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "unknown attribute intervall-ms=\"50\"" },
	{ "<ftmb:protection " NS " ftmb:backup='h'/>", LIBVIRT_DOMAINS_ERROR_INVALID,
	  "attribute ftmb:backup" },
	{ "<ftmb:protection " NS " backup='h'><ftmb:peer/></ftmb:protection>",
	  LIBVIRT_DOMAINS_ERROR_INVALID, "unexpected child element <peer>" },
	{ "<ftmb:protection " NS " backup='h'>hostC</ftmb:protection>",
	  LIBVIRT_DOMAINS_ERROR_INVALID, "unexpected content" },
	{ "<!DOCTYPE p [<!ENTITY x SYSTEM 'file:///etc/hostname'>]>"
	  "<ftmb:protection " NS " backup='h'>&x;</ftmb:protection>",
	  LIBVIRT_DOMAINS_ERROR_INVALID, "unexpected content" },
	{ "<ftmb:protection " NS " backup='h'><![CDATA[x]]></ftmb:protection>",
	  LIBVIRT_DOMAINS_ERROR_INVALID, "unexpected content" },
};

static void test_protection_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_metadata); i++) {
		const struct bad_case *c = &bad_metadata[i];
		struct libvirt_protection p;
		GError *err = NULL;

		print_message("  %s\n", c->xml);
		assert_false(libvirt_protection_parse(c->xml, &p, &err));
		assert_non_null(err);
		print_message("    -> %s\n", err->message);
		assert_int_equal(err->code, c->code);
		assert_non_null(strstr(err->message, c->says));
		assert_null(p.backup);
		g_error_free(err);
	}
}

/* --- domain XML ------------------------------------------------------------------ */

static char *example_xml(void)
{
	char *xml = NULL;
	GError *err = NULL;

	if (!g_file_get_contents(EXAMPLE, &xml, NULL, &err))
		fail_msg("%s (run from the top of the tree)", err->message);
	return xml;
}

/* text with `from` replaced by `to` (which must occur). */
static char *replaced(const char *text, const char *from, const char *to)
{
	GString *s = g_string_new(text);

	if (g_string_replace(s, from, to, 0) == 0)
		fail_msg("no \"%s\" to replace", from);
	return g_string_free(s, FALSE);
}

static char *example_with(const char *from, const char *to)
{
	char *xml = example_xml();
	char *out = replaced(xml, from, to);

	g_free(xml);
	return out;
}

static void test_example(void **state)
{
	struct libvirt_domain_paths d;
	GError *err = NULL;
	char *xml = example_xml();

	(void)state;
	if (!libvirt_domain_paths_parse(xml, 2, &d, &err))
		fail_msg("%s", err->message);
	assert_string_equal(d.vhost_socket, "/run/ftmb/ftmb-nat1.vhost.sock");
	assert_int_equal(d.vhost_queues, 2);
	assert_string_equal(d.shmem_name, "ftmb-nat1");
	assert_string_equal(d.shmem_path, "/dev/shm/ftmb-nat1");
	assert_int_equal(d.shmem_size, 1 << 20);
	assert_string_equal(d.emulator, "/usr/local/lib/ftmb/qemu-system-x86_64");
	assert_string_equal(d.kernel, "/var/lib/ftmb/image/vmlinux");
	assert_string_equal(d.initrd, "/var/lib/ftmb/image/initrd.img");
	assert_non_null(strstr(d.cmdline, "ftmb.run=ftmb-nat,--threads,2"));
	libvirt_domain_paths_clear(&d);
	g_free(xml);
}

/* The example's metadata element parses too, as libvirt would hand it over. */
static void test_example_metadata(void **state)
{
	char *xml = example_xml();
	char *start = strstr(xml, "<ftmb:protection xmlns");
	char *end = start ? strstr(start, "/>") : NULL;
	char *element;
	struct libvirt_protection p;
	GError *err = NULL;

	(void)state;
	assert_non_null(end);
	element = g_strdup_printf("%.*s/>", (int)(end - start), start);
	if (!libvirt_protection_parse(element, &p, &err))
		fail_msg("%s: %s", element, err->message);
	assert_string_equal(p.backup, "hostB");
	assert_int_equal(p.interval_ms, 50);
	assert_int_equal(p.policy, HOSTD_POLICY_DEGRADE);
	assert_int_equal(p.threads, 2);
	libvirt_protection_clear(&p);
	g_free(element);
	g_free(xml);
}

struct size_case {
	const char *size;
	uint64_t bytes; /* 0: refused */
};

static void test_shmem_sizes(void **state)
{
	static const struct size_case cases[] = {
		{ "<size unit='M'>1</size>", 1 << 20 },
		{ "<size unit='MiB'>4</size>", 4 << 20 },
		{ "<size unit='KiB'>1024</size>", 1 << 20 },
		{ "<size unit='k'>2048</size>", 2 << 20 },
		{ "<size unit='G'>1</size>", 1ull << 30 },
		{ "<size>1048576</size>", 1 << 20 },
		{ "<size unit='bytes'>2097152</size>", 2 << 20 },
		{ "<size unit='MB'>1</size>", 0 },	   /* 10^6: not a power of two */
		{ "<size unit='K'>1000</size>", 0 },
		{ "<size unit='M'>0</size>", 0 },
		{ "<size unit='M'>-1</size>", 0 },
		{ "<size unit='E'>16</size>", 0 }, /* 2^64: overflows */
		{ "<size unit='furlong'>1</size>", 0 },
		{ "<size unit='M'></size>", 0 },
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *xml = example_with("<size unit='M'>1</size>", cases[i].size);
		struct libvirt_domain_paths d;
		GError *err = NULL;
		gboolean ok = libvirt_domain_paths_parse(xml, 2, &d, &err);

		print_message("  %s -> %s\n", cases[i].size[0] ? cases[i].size : "(no size)",
			      ok ? "ok" : err->message);
		if (cases[i].bytes) {
			assert_true(ok);
			assert_int_equal(d.shmem_size, cases[i].bytes);
			libvirt_domain_paths_clear(&d);
		} else {
			assert_false(ok);
			assert_int_equal(err->code, LIBVIRT_DOMAINS_ERROR_INVALID);
			assert_null(d.vhost_socket);
			g_error_free(err);
		}
		g_free(xml);
	}
}

struct domain_case {
	const char *from, *to;
	const char *says;
};

static const struct domain_case bad_domains[] = {
	{ "<access mode='shared'/>", "", "guest memory is not shared" },
	{ "<access mode='shared'/>", "<access mode='private'/>", "guest memory is not shared" },
	{ "type='vhostuser'", "type='user'", "0 vhost-user interfaces" },
	{ "<interface type='vhostuser'>",
	  "<interface type='vhostuser'><source type='unix' path='/x' mode='client'/>"
	  "<model type='virtio'/></interface><interface type='vhostuser'>",
	  "2 vhost-user interfaces" },
	{ "mode='client'", "mode='server'", "mode='server': ftmb-vhost is the server" },
	{ "path='/run/ftmb/ftmb-nat1.vhost.sock' ", "", "no <source path='...'>" },
	{ "<driver queues='2'/>", "<driver queues='4'/>",
	  "has 4 queue pairs (<driver queues>) but ftmb:protection says threads=\"2\"" },
	{ "<driver queues='2'/>", "", "has 1 queue pairs" },
	{ "<driver queues='2'/>", "<driver queues='two'/>", "driver queues=\"two\"" },
	{ "ivshmem-plain", "ivshmem-doorbell", "0 ivshmem-plain shmem devices" },
	{ " role='master'", "", "role='': add role='master'" },
	{ "role='master'", "role='peer'", "role='peer'" },
	{ "<size unit='M'>1</size>", "", "has no <size>" },
	{ "<domain type='qemu'", "<domian type='qemu'", "not well-formed" },
};

static void test_domain_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_domains); i++) {
		const struct domain_case *c = &bad_domains[i];
		char *xml = example_with(c->from, c->to);
		struct libvirt_domain_paths d;
		GError *err = NULL;

		assert_false(libvirt_domain_paths_parse(xml, 2, &d, &err));
		print_message("  %s -> %s: %s\n", c->from, c->to, err->message);
		assert_non_null(strstr(err->message, c->says));
		assert_null(d.vhost_socket);
		assert_null(d.shmem_name);
		g_error_free(err);
		g_free(xml);
	}
}

/* Shared memory may also be asked for per NUMA cell. */
static void test_domain_numa_shared(void **state)
{
	char *numa = example_with("<vcpu>2</vcpu>",
				  "<vcpu>2</vcpu><cpu><numa><cell id='0' cpus='0-1' "
				  "memory='262144' unit='KiB' memAccess='shared'/></numa></cpu>");
	char *shared = replaced(numa, "<access mode='shared'/>", "");
	char *private = replaced(shared, "memAccess='shared'", "memAccess='private'");
	struct libvirt_domain_paths d;
	GError *err = NULL;

	(void)state;
	assert_true(libvirt_domain_paths_parse(shared, 2, &d, NULL));
	libvirt_domain_paths_clear(&d);
	assert_false(libvirt_domain_paths_parse(private, 2, &d, &err));
	assert_non_null(strstr(err->message, "not shared"));
	g_error_free(err);
	g_free(private);
	g_free(shared);
	g_free(numa);
}

static void test_not_a_domain(void **state)
{
	struct libvirt_domain_paths d;
	GError *err = NULL;

	(void)state;
	assert_false(libvirt_domain_paths_parse("<network><name>x</name></network>", 1, &d, &err));
	assert_non_null(strstr(err->message, "expected a libvirt <domain>, found <network>"));
	g_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protection_full),
		cmocka_unit_test(test_protection_defaults),
		cmocka_unit_test(test_protection_from_libvirt),
		cmocka_unit_test(test_protection_limits),
		cmocka_unit_test(test_protection_bad),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_example_metadata),
		cmocka_unit_test(test_shmem_sizes),
		cmocka_unit_test(test_domain_bad),
		cmocka_unit_test(test_domain_numa_shared),
		cmocka_unit_test(test_not_a_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
