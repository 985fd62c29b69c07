/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftmb-traffic's command line: EAL arguments before "--", ours after it.
 * Ours are parsed first, so that --help and mistakes are answered before
 * DPDK starts. EAL gets sensible defaults for a shared, hugepage-less
 * machine; an EAL option the user gives replaces the matching default.
 */
#ifndef FTMB_TRAFFIC_OPTIONS_H
#define FTMB_TRAFFIC_OPTIONS_H

#include <glib.h>
#include <stdint.h>

#define TRAFFIC_MAX_BURST 128

enum traffic_mode {
	MODE_GEN,       /* send and receive (the default) */
	MODE_SINK_ONLY, /* record what arrives, send nothing */
	MODE_SEND_ONLY, /* send, ignore what arrives */
	MODE_ECHO,      /* return every frame to where it came from */
};

struct traffic_opts {
	enum traffic_mode mode;
	char *dev;     /* devargs of the port, added as --vdev */
	char *record;  /* sink record file, or NULL */
	uint32_t flows;
	gboolean random_flows;
	uint64_t seed;
	double rate; /* pps, 0 = as fast as possible */
	double duration;
	double warmup;
	uint64_t count; /* stop sending after this many, 0 = no limit */
	uint16_t size;
	uint16_t burst;
	uint8_t src_mac[6];
	gboolean src_mac_set; /* otherwise the port's own */
	uint8_t dst_mac[6];
	int stop_after_idle_ms; /* -1: the mode's default */
	double link_timeout;
	char *go_file; /* start sending only once this file exists */
	char *stop_file; /* stop sending once this file exists */
	uint64_t spin_ns;
	uint64_t max_sleep_ns; /* 0: busy polling */
	gboolean json;
	gboolean quiet;
	gboolean own_runtime_dir; /* EAL's files are under our per-PID prefix */
};

/*
 * Parses argv. On success fills *opts and *eal_argv (a NULL-terminated
 * vector for rte_eal_init, argv[0] first; free with g_strfreev) and returns
 * TRUE. On --help prints usage and exits 0; on a mistake returns FALSE with
 * *err saying what to fix.
 */
gboolean traffic_opts_parse(int argc, char **argv, struct traffic_opts *opts, char ***eal_argv,
			    GError **err);

const char *traffic_mode_name(enum traffic_mode mode);

#endif
