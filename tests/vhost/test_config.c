// SPDX-License-Identifier: GPL-2.0-or-later
/* --instance specs (inst_config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "inst_config.h"

static struct inst_config cfg;
static char err[512];

static void full_spec_with_bracketed_devargs(void **state)
{
	(void)state;
	assert_int_equal(inst_config_parse("name=nat1,socket=/run/ftmb/nat1.vhost,region=/dev/shm/"
					   "ftmb-nat1,queues=4,port=[net_memif0,role=client,socket="
					   "/run/x.sock],backup=10.9.0.2:7400,mode=ftmb,vars=64,"
					   "slots=1024,hold=256,sendbuf=16,settle=0",
					   &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.name, "nat1");
	assert_string_equal(cfg.port, "net_memif0,role=client,socket=/run/x.sock");
	assert_string_equal(cfg.backup_host, "10.9.0.2");
	assert_string_equal(cfg.backup_port, "7400");
	assert_int_equal(cfg.queues, 4);
	assert_int_equal(cfg.mode, INST_MODE_FTMB);
	assert_int_equal(cfg.vars, 64);
	assert_int_equal(cfg.slots, 1024);
	assert_int_equal(cfg.hold, 256);
	assert_int_equal(cfg.sendbuf_mib, 16);
	assert_int_equal(cfg.settle_ms, 0);
}

static void defaults_and_last_bracketed_value(void **state)
{
	(void)state;
	assert_int_equal(inst_config_parse("name=a,socket=/s,region=/r,mode=off,port=[net_tap0,"
					   "iface=x]",
					   &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.port, "net_tap0,iface=x");
	assert_int_equal(cfg.mode, INST_MODE_OFF);
	assert_int_equal(cfg.queues, 1);
	assert_int_equal(cfg.vars, 1024);
	assert_int_equal(cfg.slots, 4096);
}

static void ipv6_backup_and_replica_without_backup(void **state)
{
	(void)state;
	assert_int_equal(inst_config_parse("name=a,socket=/s,region=/r,port=net_null0,backup=[::1]:"
					   "7400",
					   &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.backup_host, "::1");
	assert_int_equal(inst_config_parse("name=a,socket=/s,region=/r,port=net_null0,replay=/l",
					   &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.replay, "/l");
	assert_string_equal(cfg.backup_host, "");
	/* A value may look like a key. */
	assert_int_equal(inst_config_parse("name=port,socket=name,region=/r,port=[mode=off],"
					   "replay=/l",
					   &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.port, "mode=off");
}

static void rejects(const char *spec, const char *needle)
{
	if (inst_config_parse(spec, &cfg, err, sizeof(err)) != -1)
		fail_msg("'%s' was accepted", spec);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' does not mention '%s'", spec, err, needle);
}

#define OK_BASE "name=a,socket=/s,region=/r,port=net_null0,"
#define NO_NAME "socket=/s,region=/r,port=net_null0,backup=h:1,"

static void bad_specs(void **state)
{
	(void)state;
	rejects(OK_BASE "backup=h:1,role=client", "unknown key 'role' (a port's devargs with commas");
	rejects("socket=/s,region=/r,port=p,backup=h:1", "name= is required");
	rejects("name=a,region=/r,port=p,backup=h:1", "socket= is required");
	rejects("name=a,socket=/s,port=p,backup=h:1", "region= is required");
	rejects("name=a,socket=/s,region=/r,backup=h:1", "port= is required");
	rejects(OK_BASE "backup=h:1,queues=0", "queues=0: expected a number from 1 to 16");
	rejects(OK_BASE "backup=h:1,queues=17", "from 1 to 16");
	rejects(OK_BASE "backup=h:1,queues=2x", "queues=2x");
	rejects(OK_BASE "backup=h:1,queues=-1", "queues=-1");
	rejects(OK_BASE "backup=h:1,slots=1000", "power of two");
	rejects(OK_BASE "backup=h:1,vars=70000", "vars=70000");
	rejects(OK_BASE "backup=h:1,mode=record", "expected off, ftmb or checkpoint");
	rejects(OK_BASE "mode=off,backup=h:1", "mode=off takes neither");
	rejects(OK_BASE "mode=ftmb", "needs backup=HOST:PORT");
	rejects(OK_BASE "backup=nohost", "expected HOST:PORT");
	rejects(OK_BASE "backup=h:0", "backup port=0");
	rejects(OK_BASE "backup=[::1:7400", "missing ']'");
	rejects(OK_BASE "backup=[::1]7400", "expected [ADDRESS]:PORT");
	rejects("name=a,socket=/s,region=/r,backup=h:1,port=[net_memif0,role=client", "missing ']'");
	rejects(NO_NAME "name=bad/name", "only letters");
	rejects(NO_NAME "name=", "name= is empty");
	rejects(OK_BASE "backup=h:1,noequals", "expected KEY=VALUE at 'noequals'");
	rejects(OK_BASE "backup=h:1,queues=2,queues=4", "queues= given twice");
	rejects(NO_NAME "name=a0123456789012345678901234567890123456789012345678901234"
			"5678901234",
		"longer than 63");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_spec_with_bracketed_devargs),
		cmocka_unit_test(defaults_and_last_bracketed_value),
		cmocka_unit_test(ipv6_backup_and_replica_without_backup),
		cmocka_unit_test(bad_specs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
