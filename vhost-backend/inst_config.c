// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inst_config.h"
#include "ftmb/region.h"

const char inst_config_help[] =
	"Instance keys (--instance KEY=VALUE,...; repeat --instance for more instances):\n"
	"  name=NAME        instance name, [A-Za-z0-9._-], at most 63 characters (required)\n"
	"  socket=PATH      vhost-user server socket the guest connects to (required)\n"
	"  region=PATH      shared-region file, e.g. /dev/shm/ftmb-NAME (required)\n"
	"  port=DEVARGS     external DPDK port, e.g. net_tap0 or, with commas, in brackets:\n"
	"                   port=[net_memif0,role=client,socket=/run/x.sock] (required)\n"
	"  queues=N         queue pairs = middlebox threads, 1..16 (default 1)\n"
	"  mode=off|ftmb|checkpoint\n"
	"                   off: plain forwarding; ftmb: logging and parallel release;\n"
	"                   checkpoint: Remus-style, every output waits until the backup\n"
	"                   commits the checkpoint after it (default ftmb)\n"
	"  backup=HOST:PORT backup hostd ([v6addr]:PORT for IPv6); required in modes ftmb\n"
	"                   (unless replay is given) and checkpoint\n"
	"  replay=FILE      start as a replica: feed this log first (mode ftmb)\n"
	"  cut=pause        the guest is a VM that hostd checkpoints: at every pause\n"
	"                   (device stop) write the cut into the region and send it to\n"
	"                   the backup; with replay=, attach to the region restored from\n"
	"                   the checkpoint instead of creating it (and with backup=, a\n"
	"                   re-protected replica: its log starts with BASE, that cut)\n"
	"  ckpt_interval_ms=MS  host-process mode=checkpoint: a cut (a checkpoint of\n"
	"                   size zero) every MS, 1..60000\n"
	"  replay_order=off DEBUG ONLY, the negative control: the replica replays without\n"
	"                   the logged access order (it may diverge); default on\n"
	"  standby=on       with replay=: a standby replica: serve the guest at once, wait\n"
	"                   for FILE to appear (renamed into place whole), then replay it\n"
	"  trace=FILE       write a line per released output, for tests (see README)\n"
	"  vars=N           shared variables, 1..65536 (default 1024)\n"
	"  slots=N          PAL ring slots per thread, power of two, 64..1048576 (default 4096)\n"
	"  hold=N           held outputs per thread, 64..1048576 (default 4096)\n"
	"  sendbuf=MIB      replication send buffer in MiB, 4..4096 (default 64)\n"
	"  settle=MS        no input to a guest for MS after a new connection, 0..10000\n"
	"                   (default 0): not needed for correctness, input waits for the\n"
	"                   guest's ready words in the region anyway\n"
	"  mac=MAC          the guest's MAC, announced (RARP) on the external port when a\n"
	"                   replica goes live or a guest connects; several in brackets:\n"
	"                   mac=[02:00:00:00:00:01,02:00:00:00:00:02] (default: none)\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void set_defaults(struct inst_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = INST_MODE_FTMB;
	cfg->queues = 1;
	cfg->vars = 1024;
	cfg->slots = 4096;
	cfg->hold = 4096;
	cfg->sendbuf_mib = 64;
	cfg->settle_ms = 0;
}

static int parse_u32(const char *key, const char *val, uint32_t min, uint32_t max, uint32_t *out,
		     char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-' || v < min || v > max)
		return fail(err, errlen, "%s=%s: expected a number from %u to %u", key, val, min,
			    max);
	*out = (uint32_t)v;
	return 0;
}

static int copy_str(const char *key, const char *val, char *dst, size_t cap, char *err,
		    size_t errlen)
{
	if (val[0] == '\0')
		return fail(err, errlen, "%s= is empty", key);
	if (strlen(val) >= cap)
		return fail(err, errlen, "%s= is longer than %zu characters", key, cap - 1);
	strcpy(dst, val);
	return 0;
}

static int parse_name(const char *val, struct inst_config *cfg, char *err, size_t errlen)
{
	if (copy_str("name", val, cfg->name, sizeof(cfg->name), err, errlen))
		return -1;
	for (const char *c = val; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return fail(err, errlen, "name=%s: only letters, digits, '.', '_' and '-'",
				    val);
	return 0;
}

/* HOST:PORT or [V6ADDR]:PORT. */
static int parse_backup(const char *val, struct inst_config *cfg, char *err, size_t errlen)
{
	const char *colon, *host = val;
	size_t host_len;
	uint32_t port;

	if (val[0] == '[') {
		const char *close = strchr(val, ']');

		if (!close || close[1] != ':')
			return fail(err, errlen, "backup=%s: expected [ADDRESS]:PORT", val);
		host = val + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(val, ':');
		if (!colon)
			return fail(err, errlen, "backup=%s: expected HOST:PORT", val);
		host_len = (size_t)(colon - val);
	}
	if (host_len == 0 || host_len >= sizeof(cfg->backup_host))
		return fail(err, errlen, "backup=%s: bad host", val);
	if (parse_u32("backup port", colon + 1, 1, 65535, &port, err, errlen))
		return -1;
	memcpy(cfg->backup_host, host, host_len);
	cfg->backup_host[host_len] = '\0';
	snprintf(cfg->backup_port, sizeof(cfg->backup_port), "%u", port);
	return 0;
}

/* MAC[,MAC...]: unicast Ethernet addresses. */
static int parse_macs(const char *val, struct inst_config *cfg, char *err, size_t errlen)
{
	const char *p = val;

	cfg->n_macs = 0;
	while (*p) {
		unsigned int b[6];
		int used = 0;

		if (cfg->n_macs == INST_MAX_MACS)
			return fail(err, errlen, "mac=%s: at most %u addresses", val, INST_MAX_MACS);
		if (sscanf(p, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
			   &used) != 6 || (p[used] != ',' && p[used] != '\0'))
			return fail(err, errlen, "mac=%s: expected MAC addresses like 02:00:00:00:00:01",
				    val);
		if (b[0] & 1)
			return fail(err, errlen, "mac=%s: %.17s is a multicast address", val, p);
		for (int i = 0; i < 6; i++)
			cfg->macs[cfg->n_macs][i] = (uint8_t)b[i];
		cfg->n_macs++;
		p += used + (p[used] == ',');
	}
	return 0;
}

static int apply(struct inst_config *cfg, const char *key, const char *val, char *err,
		 size_t errlen)
{
	uint32_t v;

	if (!strcmp(key, "name"))
		return parse_name(val, cfg, err, errlen);
	if (!strcmp(key, "socket"))
		return copy_str(key, val, cfg->socket, sizeof(cfg->socket), err, errlen);
	if (!strcmp(key, "region"))
		return copy_str(key, val, cfg->region, sizeof(cfg->region), err, errlen);
	if (!strcmp(key, "port"))
		return copy_str(key, val, cfg->port, sizeof(cfg->port), err, errlen);
	if (!strcmp(key, "replay"))
		return copy_str(key, val, cfg->replay, sizeof(cfg->replay), err, errlen);
	if (!strcmp(key, "replay_order")) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return fail(err, errlen, "replay_order=%s: expected on or off", val);
		cfg->replay_unordered = !strcmp(val, "off");
		return 0;
	}
	if (!strcmp(key, "standby")) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return fail(err, errlen, "standby=%s: expected on or off", val);
		cfg->standby = !strcmp(val, "on");
		return 0;
	}
	if (!strcmp(key, "trace"))
		return copy_str(key, val, cfg->trace, sizeof(cfg->trace), err, errlen);
	if (!strcmp(key, "backup"))
		return parse_backup(val, cfg, err, errlen);
	if (!strcmp(key, "mac"))
		return parse_macs(val, cfg, err, errlen);
	if (!strcmp(key, "mode")) {
		if (!strcmp(val, "off"))
			cfg->mode = INST_MODE_OFF;
		else if (!strcmp(val, "ftmb"))
			cfg->mode = INST_MODE_FTMB;
		else if (!strcmp(val, "checkpoint"))
			cfg->mode = INST_MODE_CHECKPOINT;
		else
			return fail(err, errlen, "mode=%s: expected off, ftmb or checkpoint", val);
		return 0;
	}
	if ((!strcmp(key, "cut") && cfg->cut == INST_CUT_TIMER) ||
	    (!strcmp(key, "ckpt_interval_ms") && cfg->cut == INST_CUT_PAUSE))
		return fail(err, errlen, "cut=pause and ckpt_interval_ms= exclude each other");
	if (!strcmp(key, "cut")) {
		if (strcmp(val, "pause"))
			return fail(err, errlen, "cut=%s: expected pause (ckpt_interval_ms= sets "
				    "timer cuts)", val);
		cfg->cut = INST_CUT_PAUSE;
		return 0;
	}
	if (!strcmp(key, "ckpt_interval_ms")) {
		if (parse_u32(key, val, 1, 60000, &cfg->ckpt_interval_ms, err, errlen))
			return -1;
		cfg->cut = INST_CUT_TIMER;
		return 0;
	}
	if (!strcmp(key, "queues")) {
		if (parse_u32(key, val, 1, FTMB_MAX_THREADS, &v, err, errlen))
			return -1;
		cfg->queues = (uint16_t)v;
		return 0;
	}
	if (!strcmp(key, "vars"))
		return parse_u32(key, val, 1, FTMB_MAX_VARS, &cfg->vars, err, errlen);
	if (!strcmp(key, "slots")) {
		if (parse_u32(key, val, 64, FTMB_MAX_RING_SLOTS, &cfg->slots, err, errlen))
			return -1;
		if (cfg->slots & (cfg->slots - 1))
			return fail(err, errlen, "slots=%s: must be a power of two", val);
		return 0;
	}
	if (!strcmp(key, "hold"))
		return parse_u32(key, val, 64, 1u << 20, &cfg->hold, err, errlen);
	if (!strcmp(key, "sendbuf"))
		return parse_u32(key, val, 4, 4096, &cfg->sendbuf_mib, err, errlen);
	if (!strcmp(key, "settle"))
		return parse_u32(key, val, 0, 10000, &cfg->settle_ms, err, errlen);
	return fail(err, errlen,
		    "unknown key '%s' (a port's devargs with commas go in brackets: "
		    "port=[net_memif0,role=client])",
		    key);
}

/* Cuts truncate the backup's log: only a checkpoint may cover what they
 * drop, so they come from a checkpointed VM, or from the timer of a
 * checkpoint-mode host process (which logs nothing). */
static int check_cuts(const struct inst_config *cfg, char *err, size_t errlen)
{
	if (cfg->mode == INST_MODE_OFF && cfg->cut != INST_CUT_NONE)
		return fail(err, errlen, "instance %s: mode=off takes no cut= or ckpt_interval_ms=",
			    cfg->name);
	if (cfg->standby && cfg->cut == INST_CUT_PAUSE)
		return fail(err, errlen,
			    "instance %s: standby=on is for host processes: a VM's replica "
			    "(cut=pause) attaches to the region its restore writes", cfg->name);
	if (cfg->mode == INST_MODE_FTMB && cfg->cut == INST_CUT_TIMER)
		return fail(err, errlen,
			    "instance %s: ckpt_interval_ms= is for a host process in mode=checkpoint; "
			    "a cut in mode ftmb must come with a checkpoint (cut=pause, a VM)",
			    cfg->name);
	if (cfg->mode != INST_MODE_CHECKPOINT)
		return 0;
	if (!cfg->backup_host[0] || cfg->replay[0])
		return fail(err, errlen,
			    "instance %s: mode=checkpoint needs backup=HOST:PORT and takes no replay=",
			    cfg->name);
	if (cfg->cut == INST_CUT_NONE)
		return fail(err, errlen,
			    "instance %s: mode=checkpoint needs cut=pause (a VM) or ckpt_interval_ms= "
			    "(a host process)",
			    cfg->name);
	return 0;
}

static int check_combination(const struct inst_config *cfg, char *err, size_t errlen)
{
	if (!cfg->name[0])
		return fail(err, errlen, "name= is required");
	if (!cfg->socket[0])
		return fail(err, errlen, "instance %s: socket= is required", cfg->name);
	if (!cfg->region[0])
		return fail(err, errlen, "instance %s: region= is required", cfg->name);
	if (!cfg->port[0])
		return fail(err, errlen, "instance %s: port= is required", cfg->name);
	if (cfg->mode == INST_MODE_OFF && (cfg->backup_host[0] || cfg->replay[0]))
		return fail(err, errlen, "instance %s: mode=off takes neither backup= nor replay=",
			    cfg->name);
	if ((cfg->replay_unordered || cfg->standby) && !cfg->replay[0])
		return fail(err, errlen,
			    "instance %s: replay_order= and standby= apply to a replica (replay=)",
			    cfg->name);
	if (cfg->mode == INST_MODE_FTMB && !cfg->backup_host[0] && !cfg->replay[0])
		return fail(err, errlen,
			    "instance %s: mode=ftmb needs backup=HOST:PORT (or replay=FILE for an "
			    "unprotected replica)",
			    cfg->name);
	return check_cuts(cfg, err, errlen);
}

int inst_config_parse(const char *spec, struct inst_config *cfg, char *err, size_t errlen)
{
	char *copy = strdup(spec), *p = copy;
	const char *seen[32];
	int rc = -1, n_seen = 0;

	set_defaults(cfg);
	if (!copy)
		return fail(err, errlen, "out of memory");
	while (*p) {
		char *key = p, *val, *eq = strchr(p, '=');

		if (!eq || eq == p) {
			fail(err, errlen, "expected KEY=VALUE at '%s'", p);
			goto out;
		}
		*eq = '\0';
		val = eq + 1;
		/* Each key once: a repeated one is more likely a typo than intent. */
		for (int i = 0; i < n_seen; i++)
			if (!strcmp(seen[i], key)) {
				fail(err, errlen, "%s= given twice", key);
				goto out;
			}
		if (n_seen < (int)(sizeof(seen) / sizeof(seen[0])))
			seen[n_seen++] = key;
		/* [a,b,c] is one value; [::1]:7400 (a ']' not ending the value)
		 * is an ordinary one. */
		char *close = *val == '[' ? strchr(val, ']') : NULL;

		if (*val == '[' && !close) {
			fail(err, errlen, "%s=[...: missing ']'", key);
			goto out;
		}
		if (close && (close[1] == ',' || close[1] == '\0')) {
			val++;
			*close = '\0';
			p = close[1] ? close + 2 : close + 1;
		} else {
			char *comma = strchr(val, ',');

			p = comma ? comma + 1 : val + strlen(val);
			if (comma)
				*comma = '\0';
		}
		if (apply(cfg, key, val, err, errlen))
			goto out;
	}
	rc = check_combination(cfg, err, errlen);
out:
	free(copy);
	return rc;
}
