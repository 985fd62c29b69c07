// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_vhost.h>

#include "cut.h"
#include "datapath.h"
#include "instance.h"
#include "trace.h"
#include "vhost_log.h"

#define LOOP_THREAD 0u
#define PORT_DESC 1024u

struct instance *g_instances[INST_MAX];
uint32_t g_n_instances;

static struct rte_rcu_qsbr *g_qsv;
static __thread bool on_loop_thread;

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_ns(void)
{
	static uint64_t hz;

	if (!hz)
		hz = rte_get_tsc_hz();
	return (uint64_t)((double)rte_rdtsc() * (1e9 / (double)hz));
}

int instances_init(char *err, size_t errlen)
{
	size_t sz = rte_rcu_qsbr_get_memsize(1);

	g_qsv = rte_zmalloc("ftmb-vhost-rcu", sz, RTE_CACHE_LINE_SIZE);
	if (!g_qsv || rte_rcu_qsbr_init(g_qsv, 1) || rte_rcu_qsbr_thread_register(g_qsv, LOOP_THREAD)) {
		snprintf(err, errlen, "cannot set up RCU state");
		return -1;
	}
	rte_rcu_qsbr_thread_online(g_qsv, LOOP_THREAD);
	on_loop_thread = true;
	return 0;
}

void instances_loop_done(void)
{
	rte_rcu_qsbr_thread_offline(g_qsv, LOOP_THREAD);
}

void instances_quiescent(void)
{
	rte_rcu_qsbr_quiescent(g_qsv, LOOP_THREAD);
}

static struct instance *find_by_vid(int vid)
{
	char path[PATH_MAX];

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) < 0)
		return NULL;
	for (uint32_t i = 0; i < g_n_instances; i++)
		if (!strcmp(g_instances[i]->cfg.socket, path))
			return g_instances[i];
	return NULL;
}

static int on_new_device(int vid)
{
	struct instance *inst = find_by_vid(vid);
	uint16_t vrings = rte_vhost_get_vring_num(vid);
	bool fresh;

	if (!inst)
		return -1;
	if (inst->state != INST_RUNNING) {
		VLOG(WARNING, "instance %s: stopped, refusing a new guest", inst->cfg.name);
		return -1;
	}
	if (vrings < 2u * inst->n) {
		VLOG(ERR, "instance %s: guest has %u vrings, needs %u queue pairs (%u vrings)",
		     inst->cfg.name, vrings, inst->n, 2u * inst->n);
		return -1;
	}
	for (uint16_t q = 0; q < 2u * inst->n; q++)
		rte_vhost_enable_guest_notification(vid, q, 0);
	fresh = __atomic_exchange_n(&inst->fresh_connection, false, __ATOMIC_ACQ_REL);
	__atomic_store_n(&inst->vid, vid, __ATOMIC_RELEASE);
	/* QEMU restarts the device after every pause: only a new guest is news. */
	if (!fresh) {
		VLOG(DEBUG, "instance %s: device restarted (vid %d)", inst->cfg.name, vid);
		return 0;
	}
	__atomic_store_n(&inst->connected_ns, now_ns(), __ATOMIC_RELEASE);
	announce_request(inst);
	VLOG(INFO, "instance %s: guest connected (vid %d, %u queue pairs)", inst->cfg.name, vid,
	     inst->n);
	return 0;
}

/* The device goes away (a guest that leaves, or QEMU pausing the VM, which
 * it does for every checkpoint): make sure the loop no longer uses it
 * before the vhost library frees it, and, for a checkpointed VM, have the
 * loop take the cut of this pause before QEMU gets the vring bases and
 * saves RAM (cut.h). The loop thread itself only gets here when it closes
 * the socket of a stopped instance: no cut then. */
static void on_destroy_device(int vid)
{
	struct instance *inst = find_by_vid(vid);

	if (!inst || instance_vid(inst) != vid)
		return;
	__atomic_store_n(&inst->vid, -1, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(g_qsv, on_loop_thread ? LOOP_THREAD : RTE_QSBR_THRID_INVALID);
	if (inst->cfg.cut == INST_CUT_PAUSE && !on_loop_thread)
		cut_at_pause(inst);
	VLOG(DEBUG, "instance %s: device stopped (vid %d)", inst->cfg.name, vid);
}

static int on_new_connection(int vid)
{
	struct instance *inst = find_by_vid(vid);

	if (inst)
		__atomic_store_n(&inst->fresh_connection, true, __ATOMIC_RELEASE);
	return 0;
}

static void on_destroy_connection(int vid)
{
	struct instance *inst = find_by_vid(vid);

	if (inst)
		VLOG(INFO, "instance %s: guest disconnected (vid %d)", inst->cfg.name, vid);
}

static const struct rte_vhost_device_ops vhost_ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
	.new_connection = on_new_connection,
	.destroy_connection = on_destroy_connection,
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Probes the external port from its devargs and sets it up with one RX and
 * one TX queue; start_port() starts it. */
static int probe_port(struct instance *inst, char *err, size_t errlen)
{
	const char *devargs = inst->cfg.port;
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t len = strcspn(devargs, ",");
	int rc;

	if (len >= sizeof(name))
		return fail(err, errlen, "port=%s: device name too long", devargs);
	memcpy(name, devargs, len);
	name[len] = '\0';
	rc = rte_dev_probe(devargs);
	if (rc < 0 && rc != -EEXIST)
		return fail(err, errlen, "port=%s: cannot probe the device: %s", devargs,
			    strerror(-rc));
	if (rte_eth_dev_get_port_by_name(name, &inst->port_id))
		return fail(err, errlen, "port=%s: no ethdev named %s after probing", devargs, name);
	if (rte_eth_dev_info_get(inst->port_id, &info))
		return fail(err, errlen, "port %s: no device info", name);
	rc = rte_eth_dev_configure(inst->port_id, 1, 1, &conf);
	if (!rc)
		rc = rte_eth_rx_queue_setup(inst->port_id, 0, PORT_DESC,
					    rte_eth_dev_socket_id(inst->port_id), NULL, inst->pool);
	if (!rc)
		rc = rte_eth_tx_queue_setup(inst->port_id, 0, PORT_DESC,
					    rte_eth_dev_socket_id(inst->port_id), NULL);
	if (rc)
		return fail(err, errlen, "port %s: cannot set up: %s", name, strerror(-rc));
	inst->port_ready = true;
	inst->port_memif_client = !strcmp(info.driver_name, "net_memif") &&
				  strstr(devargs, "role=client") != NULL;
	return 0;
}

static int start_port(struct instance *inst)
{
	int rc = rte_eth_dev_start(inst->port_id);

	inst->port_start_ns = now_ns();
	inst->port_linked = false;
	if (rc)
		return rc;
	rte_eth_promiscuous_enable(inst->port_id);
	inst->port_started = true;
	return 0;
}

/* A replica starts its external port when it first has an output to send
 * or goes live, not before: the port's peer may still hold the failed
 * primary's connection (a memif server refuses a second client until the
 * old process is gone, which takes it tens of ms), and DPDK 22.11's memif
 * server can crash when a client it refused goes away at once. */
static void start_replica_port(struct instance *inst)
{
	int rc = start_port(inst);

	if (!rc) {
		VLOG(INFO, "instance %s: replica: external port started", inst->cfg.name);
	} else if (inst->port_memif_client) {
		/* its server is away, or still serves the old primary (a
		 * planned failover leaves it running): keep trying */
		inst->port_restarts++;
		VLOG(NOTICE, "instance %s: replica: external port %s cannot start yet (%s): "
			     "trying again every %llu ms", inst->cfg.name, inst->cfg.port,
		     strerror(-rc), PORT_HANDSHAKE_NS / 1000000ull);
	} else {
		instance_stop(inst, FTMB_E_FIELD, "cannot start the external port %s: %s",
			      inst->cfg.port, strerror(-rc));
	}
}

/* A memif client whose server is away cannot start: it tries again every
 * PORT_HANDSHAKE_NS. */
static void restart_port(struct instance *inst, uint64_t now)
{
	if (now - inst->port_start_ns < PORT_HANDSHAKE_NS)
		return;
	if (start_port(inst))
		VLOG(DEBUG, "instance %s: external port not restarted (its peer is away?): "
			    "trying again", inst->cfg.name);
}

void instance_port_watch(struct instance *inst, uint64_t now)
{
	struct rte_eth_link link;
	bool up;

	if (!inst->port_started) {
		if (inst->port_restarts)
			restart_port(inst, now);
		else
			start_replica_port(inst);
		return;
	}
	if (now < inst->port_check_ns)
		return;
	inst->port_check_ns = now + PORT_CHECK_NS;
	up = rte_eth_link_get_nowait(inst->port_id, &link) == 0 && link.link_status;
	if (up && !inst->port_up) {
		VLOG(INFO, "instance %s: external link up", inst->cfg.name);
		if (inst->replay && !inst->replay->at.port_up)
			inst->replay->at.port_up = mono_ns();
	}
	else if (!up && inst->port_up)
		VLOG(WARNING, "instance %s: external link DOWN", inst->cfg.name);
	inst->port_up = up;
	inst->port_linked |= up;
	/* A link that was up and went down is left alone: its server went
	 * away, and stopping and starting a memif client in a loop while its
	 * server is gone crashes DPDK 22.11's interrupt thread (segfaults in
	 * eal-intr-thread, seen in the failover soak). */
	if (up || inst->port_linked || !inst->port_memif_client ||
	    now - inst->port_start_ns < PORT_HANDSHAKE_NS)
		return;
	if (!inst->port_restarts++)
		VLOG(NOTICE, "instance %s: external link not up %.0f ms after starting the port: "
			     "restarting it until it is (the server may still hold an old client)",
		     inst->cfg.name, (double)(now - inst->port_start_ns) / 1e6);
	rte_eth_dev_stop(inst->port_id);
	inst->port_started = false;
	restart_port(inst, now);
}

/* A replica of a checkpointed VM attaches to the region its checkpoint
 * restored (its cut and the guest's rings are in it); everyone else creates
 * a fresh one. */
static enum ftmb_mode region_mode(const struct instance *inst)
{
	if (!inst->ftmb)
		return FTMB_MODE_OFF;
	if (inst->cfg.replay[0])
		return inst->cfg.replay_unordered ? FTMB_MODE_REPLAY_UNORDERED : FTMB_MODE_REPLAY;
	return FTMB_MODE_RECORD;
}

/* A restored region's replay rings are taken over where the replay that
 * produced the checkpoint (if any) left them (host_region.h). */
static int resume_replay_rings(struct instance *inst, char *err, size_t errlen)
{
	for (uint16_t t = 0; t < inst->n; t++) {
		uint64_t head, tail;
		int rc = host_region_resume_replay(&inst->region, t, &head, &tail);

		if (rc == FTMB_E_INDEX)
			return fail(err, errlen, "region=%s: thread %u's restored replay ring holds "
				    "records its guest never read (head %" PRIu64 ", tail %" PRIu64 "): "
				    "the checkpoint was taken while the guest was still replaying (or "
				    "after it diverged), and cannot be replayed again",
				    inst->cfg.region, t, head, tail);
		if (rc)
			return fail(err, errlen, "region=%s: thread %u's restored replay ring is "
				    "corrupt (head %" PRIu64 ", tail %" PRIu64 "): %s",
				    inst->cfg.region, t, head, tail, ftmb_strerror(rc));
	}
	return 0;
}

static int setup_region(struct instance *inst, char *err, size_t errlen)
{
	struct ftmb_region_geometry geo;
	int rc = ftmb_region_layout(inst->n, inst->cfg.slots, inst->cfg.vars, &geo);

	if (rc)
		return fail(err, errlen, "instance %s: no region layout for %u threads, %u slots, "
			    "%u vars: %s", inst->cfg.name, inst->n, inst->cfg.slots, inst->cfg.vars,
			    ftmb_strerror(rc));
	if (inst->replay && inst->cfg.cut == INST_CUT_PAUSE) {
		rc = host_region_open(&inst->region, inst->cfg.region, inst->n, inst->cfg.slots,
				      inst->cfg.vars);
		if (rc)
			return fail(err, errlen, "region=%s: cannot attach to the restored region "
				    "(%zu bytes for queues=%u slots=%u vars=%u): %s", inst->cfg.region,
				    (size_t)geo.region_size, inst->n, inst->cfg.slots, inst->cfg.vars,
				    rc < 0 ? strerror(-rc) : ftmb_strerror(rc));
		if (cut_resume_from_region(inst, err, errlen))
			return -1;
		return resume_replay_rings(inst, err, errlen);
	}
	inst->generation = (uint64_t)time(NULL);
	/* With the layout checked, what can still fail is the file: -errno. */
	rc = host_region_create(&inst->region, inst->cfg.region, inst->n, inst->cfg.slots,
				inst->cfg.vars, region_mode(inst), inst->generation);
	if (rc)
		return fail(err, errlen, "region=%s: %s", inst->cfg.region, strerror(-rc));
	return 0;
}

static int setup_replay(struct instance *inst, char *err, size_t errlen)
{
	struct replay_log *log;

	inst->replay = calloc(1, sizeof(*inst->replay));
	if (!inst->replay)
		return fail(err, errlen, "out of memory");
	log = &inst->replay->log;
	if (replay_log_load(inst->cfg.replay, log, err, errlen))
		return -1;
	if (log->hello.n_threads != inst->n || log->hello.n_vars != inst->cfg.vars)
		return fail(err, errlen,
			    "replay=%s: logged for %u threads and %u vars, the instance has "
			    "queues=%u vars=%u",
			    inst->cfg.replay, log->hello.n_threads, log->hello.n_vars, inst->n,
			    inst->cfg.vars);
	return 0;
}

static int setup_link(struct instance *inst, char *err, size_t errlen)
{
	struct ftmb_repl_hello hello = {
		.version = FTMB_REPL_VERSION,
		.role = FTMB_ROLE_VHOST,
		.n_threads = inst->n,
		.n_vars = inst->cfg.vars,
		.generation = inst->generation,
	};
	size_t sendbuf = (size_t)inst->cfg.sendbuf_mib << 20;

	snprintf(hello.instance, sizeof(hello.instance), "%s", inst->cfg.name);
	if (sendbuf < 2 * inst->pal_reserve + datapath_input_reserve())
		return fail(err, errlen,
			    "sendbuf=%u MiB is too small for %u PAL rings of %u slots; give at "
			    "least %zu MiB",
			    inst->cfg.sendbuf_mib, inst->n, inst->cfg.slots,
			    ((2 * inst->pal_reserve + datapath_input_reserve()) >> 20) + 1);
	if (link_init(&inst->link, inst->cfg.backup_host, inst->cfg.backup_port, &hello, sendbuf,
		      datapath_on_backup_frame, inst, err, errlen))
		return -1;
	inst->link_ready = true;
	return 0;
}

int instance_create(struct instance *inst, const struct inst_config *cfg, uint32_t index,
		    char *err, size_t errlen)
{
	char pool_name[RTE_MEMPOOL_NAMESIZE];
	unsigned n_mbufs;

	memset(inst, 0, sizeof(*inst));
	inst->cfg = *cfg;
	inst->index = index;
	inst->n = cfg->queues;
	inst->vid = -1;
	inst->ftmb = cfg->mode == INST_MODE_FTMB;
	inst->checkpoint = cfg->mode == INST_MODE_CHECKPOINT;
	inst->protected = (inst->ftmb || inst->checkpoint) && cfg->backup_host[0];
	inst->pal_reserve = datapath_pal_reserve(inst->n, cfg->slots);
	if (!inst->protected)
		for (uint32_t i = 0; i < FTMB_MAX_THREADS; i++)
			inst->durable.in[i] = inst->durable.pal[i] = UINT64_MAX;
	for (uint16_t t = 0; t < inst->n; t++)
		if (holdq_init(&inst->out[t].held, cfg->hold))
			return fail(err, errlen, "out of memory for hold queues");
	n_mbufs = inst->n * (cfg->hold + 2 * INST_BURST) + 2 * PORT_DESC + INST_TX_MAX + 1024;
	snprintf(pool_name, sizeof(pool_name), "ftmb-vhost-%u", index);
	inst->pool = rte_pktmbuf_pool_create(pool_name, n_mbufs, 256, 0,
					     RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (!inst->pool)
		return fail(err, errlen,
			    "instance %s: no memory for %u mbufs (raise EAL -m, or lower hold=)",
			    cfg->name, n_mbufs);
	if (cfg->replay[0] && !cfg->standby && setup_replay(inst, err, errlen))
		return -1;
	if (cfg->trace[0] && !(inst->trace = trace_open(cfg->trace)))
		return fail(err, errlen, "instance %s: cannot create trace=%s: %s", cfg->name,
			    cfg->trace, strerror(errno));
	if (setup_region(inst, err, errlen) || probe_port(inst, err, errlen))
		return -1;
	if (!cfg->replay[0] && start_port(inst))
		return fail(err, errlen, "instance %s: cannot start its external port %s",
			    cfg->name, cfg->port);
	if (cfg->standby) {
		inst->standby = true;
		VLOG(NOTICE, "instance %s: STANDBY replica, %u queue pairs, socket %s, region %s: "
			     "serving the guest, waiting for the replay file %s",
		     cfg->name, inst->n, cfg->socket, cfg->region, cfg->replay);
		return 0;
	}
	if (inst->protected && setup_link(inst, err, errlen))
		return -1;
	/* a VM replica that is protected again: its log starts at its cut */
	if (inst->replay && inst->protected && cfg->cut == INST_CUT_PAUSE)
		cut_send_base(inst);
	if (inst->replay) {
		datapath_replay_begin(inst);
		/* a restored region still says what the primary's said */
		if (cfg->cut == INST_CUT_PAUSE)
			host_region_set_mode(&inst->region, region_mode(inst));
	} else if (inst->ftmb && !inst->protected) {
		VLOG(WARNING, "instance %s: NO BACKUP: outputs are released unprotected",
		     cfg->name);
	}
	VLOG(INFO, "instance %s: mode %s, %u queue pairs, socket %s, region %s, port %s%s%s%s",
	     cfg->name, instance_mode_name(inst), inst->n, cfg->socket, cfg->region, cfg->port,
	     inst->protected ? ", backup " : "", inst->protected ? inst->link.peer : "",
	     cfg->cut == INST_CUT_PAUSE	  ? ", a cut at every pause"
	     : cfg->cut == INST_CUT_TIMER ? ", a cut on a timer"
					  : "");
	return 0;
}

/* A standby replica takes over once its replay file is in place: it loads
 * it and begins the replay; the EAL, the region, the port's set-up and the
 * guest's connection are ready. Returns the work done. */
uint64_t instance_standby_poll(struct instance *inst, uint64_t now)
{
	char err[1024];
	uint64_t found;

	if (now < inst->standby_check_ns)
		return 0;
	inst->standby_check_ns = now + STANDBY_CHECK_NS;
	if (access(inst->cfg.replay, F_OK))
		return 0;
	found = mono_ns();
	inst->standby = false;
	VLOG(NOTICE, "instance %s: standby taking over: %s appeared", inst->cfg.name,
	     inst->cfg.replay);
	if (setup_replay(inst, err, sizeof(err))) {
		instance_stop(inst, FTMB_E_FIELD, "cannot take over: %s", err);
		return 1;
	}
	inst->replay->at.found = found;
	datapath_replay_begin(inst);
	return 1;
}

int instances_start_vhost(char *err, size_t errlen)
{
	for (uint32_t i = 0; i < g_n_instances; i++) {
		struct instance *inst = g_instances[i];
		const char *path = inst->cfg.socket;

		unlink(path);
		if (rte_vhost_driver_register(path, 0))
			return fail(err, errlen, "instance %s: cannot create vhost socket %s",
				    inst->cfg.name, path);
		inst->vhost_registered = true;
		if (rte_vhost_driver_callback_register(path, &vhost_ops) ||
		    rte_vhost_driver_start(path))
			return fail(err, errlen, "instance %s: cannot start vhost socket %s",
				    inst->cfg.name, path);
	}
	return 0;
}

/* Closes the vhost socket from the loop thread: the teardown callback runs
 * here, and its RCU wait must not wait for this very thread. */
static void close_vhost(struct instance *inst)
{
	if (!inst->vhost_registered)
		return;
	rte_vhost_driver_unregister(inst->cfg.socket);
	inst->vhost_registered = false;
	__atomic_store_n(&inst->vid, -1, __ATOMIC_RELEASE);
}

static void drop_outputs(struct instance *inst)
{
	struct held_output h[64];
	uint32_t k;

	for (uint16_t t = 0; t < inst->n; t++)
		while ((k = release_drain(&inst->out[t], h, 64)) > 0)
			for (uint32_t i = 0; i < k; i++)
				rte_pktmbuf_free(h[i].pkt);
	rte_pktmbuf_free_bulk(inst->tx, inst->n_tx);
	inst->n_tx = 0;
	datapath_drop_backlog(inst);
}

/* The instance ends on purpose (shutdown, or a guest cut off for breaking
 * the contract): the backup is told, so that it does not fail it over. */
static void close_link(struct instance *inst)
{
	if (!inst->link_ready)
		return;
	link_leave(&inst->link, 200000000u);
	link_destroy(&inst->link);
	inst->link_ready = false;
}

void instance_stop(struct instance *inst, int err, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (inst->state == INST_STOPPED)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(inst->stop_reason, sizeof(inst->stop_reason), "%s (%s)", why, ftmb_strerror(err));
	VLOG(ERR, "instance %s stopped: %s; the guest is cut off, other instances go on",
	     inst->cfg.name, inst->stop_reason);
	inst->state = INST_STOPPED;
	close_vhost(inst);
	drop_outputs(inst);
	close_link(inst);
	/* The external port stays up but unpolled: stopping it would pull a
	 * shared-memory link (memif) from under its peer. */
}

const char *instance_mode_name(const struct instance *inst)
{
	return inst->ftmb ? "ftmb" : inst->checkpoint ? "checkpoint" : "off";
}

void instance_destroy(struct instance *inst)
{
	close_vhost(inst);
	drop_outputs(inst);
	close_link(inst);
	if (inst->port_started)
		rte_eth_dev_stop(inst->port_id);
	if (inst->port_ready)
		rte_eth_dev_close(inst->port_id);
	inst->port_started = inst->port_ready = false;
	host_region_destroy(&inst->region);
	trace_close(inst->trace);
	inst->trace = NULL;
	for (uint16_t t = 0; t < inst->n; t++)
		holdq_free(&inst->out[t].held);
	if (inst->replay) {
		replay_log_free(&inst->replay->log);
		free(inst->replay);
		inst->replay = NULL;
	}
}
