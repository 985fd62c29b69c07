// SPDX-License-Identifier: GPL-2.0-or-later
/* ftmb-hostd's configuration: a full file parses, and every bad value is
 * refused with a message that names the key and what would be right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <netinet/in.h>

#include "config.h"

static const char good[] = "[hostd]\n"
			   "name = hostB\n"
			   "listen = 127.0.0.1:7401\n"
			   "heartbeat_interval_ms = 2\n"
			   "failure_timeout_ms = 20\n"
			   "max_log_mb = 64\n"
			   "[peers]\n"
			   "hostA = 127.0.0.2:7400\n"
			   "hostC = [::1]:7402\n"
			   "[instance nat1]\n"
			   "primary = hostA\n"
			   "backup = hostB\n"
			   "on_backup_lost = degrade\n"
			   "replica_vhost = ftmb-vhost --replay '%LOG%' --name \"%INSTANCE% x\"\n"
			   "replica_middlebox = /usr/lib/ftmb/nat -q 2\n"
			   "[instance fw1]\n"
			   "primary = hostB\n"
			   "backup = hostC\n";

/* Loads good, then extra (which may override it), and validates. Returns
 * the error message (g_free it) or NULL. */
static char *load(const char *extra)
{
	struct hostd_config *cfg = hostd_config_new();
	char *text = g_strconcat(good, extra, NULL);
	GError *error = NULL;
	char *msg = NULL;

	if (!hostd_config_load_data(cfg, text, &error) || !hostd_config_validate(cfg, &error)) {
		msg = g_strdup(error->message);
		g_error_free(error);
	}
	hostd_config_free(cfg);
	g_free(text);
	return msg;
}

/* The config with extra must fail with a message containing every word. */
static void expect_error(const char *extra, const char *word1, const char *word2)
{
	char *msg = load(extra);

	if (!msg)
		fail_msg("accepted: %s", extra);
	if (!strstr(msg, word1) || (word2 && !strstr(msg, word2)))
		fail_msg("message \"%s\" lacks \"%s\"/\"%s\"", msg, word1, word2 ? word2 : "");
	g_free(msg);
}

static void test_good_file(void **state)
{
	struct hostd_config *cfg = hostd_config_new();
	const struct hostd_instance_cfg *nat1, *fw1;
	GError *error = NULL;

	(void)state;
	assert_true(hostd_config_load_data(cfg, good, &error));
	assert_true(hostd_config_validate(cfg, &error));
	assert_string_equal(cfg->name, "hostB");
	assert_int_equal(cfg->heartbeat_interval_ms, 2);
	assert_int_equal(cfg->failure_timeout_ms, 20);
	assert_int_equal(cfg->max_log_mb, 64);
	assert_string_equal(cfg->control_socket, "/run/ftmb/hostd.sock"); /* default kept */
	assert_int_equal(cfg->peers->len, 2);
	assert_non_null(hostd_config_peer(cfg, "hostC"));
	nat1 = hostd_config_instance(cfg, "nat1");
	fw1 = hostd_config_instance(cfg, "fw1");
	assert_non_null(nat1);
	assert_non_null(fw1);
	assert_int_equal(nat1->on_backup_lost, HOSTD_POLICY_DEGRADE);
	assert_int_equal(fw1->on_backup_lost, HOSTD_POLICY_HALT); /* the safe default */
	assert_int_equal(g_strv_length(nat1->replica_vhost), 5);
	assert_string_equal(nat1->replica_vhost[2], "%LOG%");
	assert_string_equal(nat1->replica_vhost[4], "%INSTANCE% x");
	assert_string_equal(nat1->replica_middlebox[0], "/usr/lib/ftmb/nat");
	assert_null(fw1->replica_vhost);
	hostd_config_free(cfg);
}

static void test_defaults(void **state)
{
	struct hostd_config *cfg = hostd_config_new();

	(void)state;
	g_free(cfg->name);
	cfg->name = g_strdup("solo");
	assert_true(hostd_config_validate(cfg, NULL));
	assert_int_equal(cfg->heartbeat_interval_ms, 5);
	assert_int_equal(cfg->failure_timeout_ms, 30);
	assert_int_equal(((struct sockaddr_in *)&cfg->listen.ss)->sin_port, htons(7400));
	hostd_config_free(cfg);
}

static void test_bad_numbers(void **state)
{
	(void)state;
	expect_error("[hostd]\nheartbeat_interval_ms = 0\n", "heartbeat_interval_ms", "1 to 10000");
	expect_error("[hostd]\nheartbeat_interval_ms = fast\n", "\"fast\"", "whole number");
	expect_error("[hostd]\nmax_log_mb = -3\n", "max_log_mb", NULL);
	expect_error("[hostd]\nfailure_timeout_ms = 3\n", "at least twice", "heartbeat_interval_ms");
}

static void test_unknown_names(void **state)
{
	(void)state;
	expect_error("[hostd]\nheartbeat_intervl_ms = 5\n", "unknown key", "heartbeat_intervl_ms");
	expect_error("[instance nat1]\nreplica = x\n", "unknown key \"replica\"", NULL);
	expect_error("[hosts]\na = b\n", "unknown section [hosts]", NULL);
}

static void test_bad_instances(void **state)
{
	(void)state;
	expect_error("[instance nat1]\non_backup_lost = panic\n", "halt or degrade", NULL);
	expect_error("[instance x]\nprimary = hostQ\nbackup = hostB\nreplica_vhost = v %LOG%\n",
		     "hostQ", "[peers]");
	expect_error("[instance x]\nprimary = hostA\n", "backup is not set", NULL);
	expect_error("[instance x]\nprimary = hostA\nbackup = hostA\n", "both hostA", NULL);
	expect_error("[instance x]\nprimary = hostA\nbackup = hostB\n", "replica_vhost", "must be set");
	expect_error("[instance x]\nprimary = hostA\nbackup = hostB\nreplica_vhost = ftmb-vhost\n",
		     "%LOG%", NULL);
	expect_error("[instance x]\nprimary = hostA\nbackup = hostB\nreplica_vhost = 'v %LOG%\n",
		     "not a command line", NULL);
	expect_error("[instance bad/name]\nprimary = hostA\nbackup = hostC\n", "instance names",
		     NULL);
	expect_error("[instance fw1]\nreprotect = hostQ\n", "hostQ", "[peers]");
	expect_error("[instance fw1]\nreprotect = hostC\n", "third host", "backup (hostC)");
	expect_error("[instance fw1]\nreprotect = hostA\n", "only VM instances", NULL);
}

/* The third host of a VM instance, from its own point of view. */
static void test_reprotect(void **state)
{
	static const char vm[] = "[instance vm1]\nprimary = hostA\nbackup = hostC\n"
				 "reprotect = hostB\nkernel = /boot/vmlinux\n"
				 "vhost_socket = /run/vm1.vhost\nregion = /dev/shm/vm1\n"
				 "region_size = 512K\n";
	char *extra = g_strconcat(vm, "replica_vhost = v %LOG%%BACKUP_KEY%\n", NULL);
	char *msg = load(extra);

	(void)state;
	assert_null(msg);
	expect_error(vm, "re-protects it", "replica_vhost");
	g_free(extra);
}

static void test_bad_addresses(void **state)
{
	(void)state;
	expect_error("[peers]\nhostA = 127.0.0.1:port\n", "hostA", "cannot resolve");
	expect_error("[peers]\nhostA = ::1:7400\n", "brackets", NULL);
	expect_error("[hostd]\nlisten = :7400\n", "listen", "host:port");
	expect_error("[hostd]\nname = host b\n", "host names", NULL);
	expect_error("[hostd]\nstate_dir = run/ftmb\n", "absolute", NULL);
}

static void test_peer_option(void **state)
{
	struct hostd_config *cfg = hostd_config_new();
	GError *error = NULL;

	(void)state;
	assert_true(hostd_config_load_data(cfg, good, NULL));
	assert_true(hostd_config_add_peer(cfg, "hostA=127.0.0.9:7000", NULL));
	assert_true(hostd_config_add_peer(cfg, "hostD=127.0.0.4", NULL));
	assert_true(hostd_config_validate(cfg, NULL));
	assert_int_equal(cfg->peers->len, 3); /* hostA replaced, hostD added */
	assert_string_equal(hostd_config_peer(cfg, "hostA")->address_text, "127.0.0.9:7000");
	assert_false(hostd_config_add_peer(cfg, "hostE", &error));
	assert_non_null(strstr(error->message, "NAME=ADDRESS"));
	g_error_free(error);
	hostd_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),     cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_numbers),   cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_bad_instances), cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_peer_option),   cmocka_unit_test(test_reprotect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
