// SPDX-License-Identifier: GPL-2.0-or-later
/* ftmb-hostd's configuration (format in config.h). */
#include <stdarg.h>
#include <string.h>

#include "config.h"
#include "ftmb/repl.h"

#define INSTANCE_GROUP "instance "

G_GNUC_PRINTF(2, 3)
static gboolean invalid(GError **error, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, msg);
	g_free(msg);
	return FALSE;
}

gboolean hostd_valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > FTMB_INSTANCE_MAX)
		return FALSE;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(name[i]) && !strchr("-_.", name[i]))
			return FALSE;
	return TRUE;
}

const char *hostd_policy_name(enum hostd_policy p)
{
	return p == HOSTD_POLICY_DEGRADE ? "degrade" : "halt";
}

static void free_peer(gpointer p)
{
	struct hostd_peer_cfg *peer = p;

	g_free(peer->name);
	g_free(peer->address_text);
	g_free(peer);
}

static void free_instance(gpointer p)
{
	struct hostd_instance_cfg *inst = p;

	g_free(inst->name);
	g_free(inst->primary);
	g_free(inst->backup);
	g_free(inst->reprotect);
	g_strfreev(inst->replica_vhost);
	g_strfreev(inst->replica_middlebox);
	g_free(inst->vm.kernel);
	g_free(inst->vm.initrd);
	g_free(inst->vm.append);
	g_free(inst->vm.qemu);
	g_free(inst->vm.machine);
	g_free(inst->vm.accel);
	g_free(inst->vm.mac);
	g_free(inst->vm.ram_file);
	g_free(inst->vm.vhost_socket);
	g_free(inst->vm.region);
	g_free(inst);
}

struct hostd_config *hostd_config_new(void)
{
	struct hostd_config *cfg = g_new0(struct hostd_config, 1);

	cfg->name = g_strdup(g_get_host_name());
	cfg->listen_text = g_strdup("0.0.0.0:7400");
	cfg->control_socket = g_strdup("/run/ftmb/hostd.sock");
	cfg->state_dir = g_strdup("/run/ftmb");
	cfg->heartbeat_interval_ms = 5;
	cfg->failure_timeout_ms = 30;
	cfg->max_log_mb = 256;
	cfg->max_instances = 64;
	cfg->accel_probe = g_strdup("ftmb-accel-probe");
	cfg->peers = g_ptr_array_new_with_free_func(free_peer);
	cfg->instances = g_ptr_array_new_with_free_func(free_instance);
	return cfg;
}

void hostd_config_free(struct hostd_config *cfg)
{
	if (!cfg)
		return;
	g_free(cfg->name);
	g_free(cfg->listen_text);
	g_free(cfg->control_socket);
	g_free(cfg->state_dir);
	g_free(cfg->accel_probe);
	g_ptr_array_free(cfg->peers, TRUE);
	g_ptr_array_free(cfg->instances, TRUE);
	g_free(cfg);
}

const struct hostd_peer_cfg *hostd_config_peer(const struct hostd_config *cfg, const char *name)
{
	for (guint i = 0; i < cfg->peers->len; i++) {
		const struct hostd_peer_cfg *p = g_ptr_array_index(cfg->peers, i);

		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

const struct hostd_instance_cfg *hostd_config_instance(const struct hostd_config *cfg,
							 const char *name)
{
	for (guint i = 0; i < cfg->instances->len; i++) {
		const struct hostd_instance_cfg *inst = g_ptr_array_index(cfg->instances, i);

		if (strcmp(inst->name, name) == 0)
			return inst;
	}
	return NULL;
}

static void set_peer(struct hostd_config *cfg, const char *name, const char *address)
{
	struct hostd_peer_cfg *p = (struct hostd_peer_cfg *)hostd_config_peer(cfg, name);

	if (!p) {
		p = g_new0(struct hostd_peer_cfg, 1);
		p->name = g_strdup(name);
		g_ptr_array_add(cfg->peers, p);
	}
	g_free(p->address_text);
	p->address_text = g_strdup(address);
}

gboolean hostd_config_add_peer(struct hostd_config *cfg, const char *spec, GError **error)
{
	const char *eq = strchr(spec, '=');
	char *name;

	if (!eq || eq == spec || eq[1] == '\0')
		return invalid(error, "--peer \"%s\": write NAME=ADDRESS:PORT, e.g. hostA=192.0.2.1:7400",
			       spec);
	name = g_strndup(spec, (gsize)(eq - spec));
	set_peer(cfg, name, eq + 1);
	g_free(name);
	return TRUE;
}

/* Every key in group must be one of known (NULL-terminated): a typo in a
 * failover setting must not pass silently. */
static gboolean check_keys(GKeyFile *kf, const char *group, const char *const *known,
			   GError **error)
{
	char **keys = g_key_file_get_keys(kf, group, NULL, NULL);
	gboolean ok = TRUE;

	for (char **k = keys; ok && k && *k; k++)
		if (!g_strv_contains(known, *k))
			ok = invalid(error, "[%s]: unknown key \"%s\"", group, *k);
	g_strfreev(keys);
	return ok;
}

/* Replaces *dst with the key's string value when the key is present. */
static gboolean take_string(GKeyFile *kf, const char *group, const char *key, char **dst,
			    GError **error)
{
	GError *err = NULL;
	char *v = g_key_file_get_string(kf, group, key, &err);

	if (err && err->code == G_KEY_FILE_ERROR_KEY_NOT_FOUND) {
		g_error_free(err);
		return TRUE;
	}
	if (err) {
		g_propagate_prefixed_error(error, err, "[%s] %s: ", group, key);
		return FALSE;
	}
	g_free(*dst);
	*dst = v;
	return TRUE;
}

static gboolean take_uint(GKeyFile *kf, const char *group, const char *key, guint min, guint max,
			  guint *dst, GError **error)
{
	char *text = NULL;
	guint64 v;
	gboolean ok = TRUE;

	if (!take_string(kf, group, key, &text, error))
		return FALSE;
	if (text && !g_ascii_string_to_unsigned(text, 10, min, max, &v, NULL))
		ok = invalid(error, "[%s] %s = \"%s\": expected a whole number from %u to %u", group,
			     key, text, min, max);
	else if (text)
		*dst = (guint)v;
	g_free(text);
	return ok;
}

static gboolean take_argv(GKeyFile *kf, const char *group, const char *key, char ***dst,
			  GError **error)
{
	char *text = NULL;
	GError *err = NULL;

	if (!take_string(kf, group, key, &text, error))
		return FALSE;
	if (!text)
		return TRUE;
	g_strfreev(*dst);
	*dst = NULL;
	if (!g_shell_parse_argv(text, NULL, dst, &err)) {
		invalid(error, "[%s] %s = \"%s\": not a command line: %s", group, key, text,
			err->message);
		g_error_free(err);
		g_free(text);
		return FALSE;
	}
	g_free(text);
	return TRUE;
}

static gboolean load_hostd(struct hostd_config *cfg, GKeyFile *kf, GError **error)
{
	static const char *const known[] = { "name",		      "listen",
					     "control_socket",	      "state_dir",
					     "heartbeat_interval_ms", "failure_timeout_ms",
					     "max_log_mb",	      "max_instances",
					     "accel_probe",	      NULL };
	const char *g = "hostd";

	if (!g_key_file_has_group(kf, g))
		return TRUE;
	return check_keys(kf, g, known, error) && take_string(kf, g, "name", &cfg->name, error) &&
	       take_string(kf, g, "listen", &cfg->listen_text, error) &&
	       take_string(kf, g, "control_socket", &cfg->control_socket, error) &&
	       take_string(kf, g, "state_dir", &cfg->state_dir, error) &&
	       take_uint(kf, g, "heartbeat_interval_ms", 1, 10000, &cfg->heartbeat_interval_ms,
			 error) &&
	       take_uint(kf, g, "failure_timeout_ms", 2, 600000, &cfg->failure_timeout_ms, error) &&
	       take_uint(kf, g, "max_log_mb", 1, 1u << 20, &cfg->max_log_mb, error) &&
	       take_uint(kf, g, "max_instances", 1, 4096, &cfg->max_instances, error) &&
	       take_string(kf, g, "accel_probe", &cfg->accel_probe, error);
}

static gboolean load_peers(struct hostd_config *cfg, GKeyFile *kf, GError **error)
{
	char **keys = g_key_file_get_keys(kf, "peers", NULL, NULL);
	gboolean ok = TRUE;

	for (char **k = keys; ok && k && *k; k++) {
		char *address = g_key_file_get_string(kf, "peers", *k, error);

		ok = address != NULL;
		if (ok)
			set_peer(cfg, *k, address);
		g_free(address);
	}
	g_strfreev(keys);
	return ok;
}

static gboolean take_policy(GKeyFile *kf, const char *group, enum hostd_policy *dst,
			    GError **error)
{
	char *text = NULL;
	gboolean ok = TRUE;

	if (!take_string(kf, group, "on_backup_lost", &text, error))
		return FALSE;
	if (!text || strcmp(text, "halt") == 0)
		*dst = HOSTD_POLICY_HALT;
	else if (strcmp(text, "degrade") == 0)
		*dst = HOSTD_POLICY_DEGRADE;
	else
		ok = invalid(error, "[%s] on_backup_lost = \"%s\": expected halt or degrade", group,
			     text);
	g_free(text);
	return ok;
}

static gboolean take_replica_start(GKeyFile *kf, const char *group, gboolean *standby,
				   GError **error)
{
	char *text = NULL;
	gboolean ok = TRUE;

	if (!take_string(kf, group, "replica_start", &text, error))
		return FALSE;
	if (!text || strcmp(text, "on-failover") == 0)
		*standby = FALSE;
	else if (strcmp(text, "standby") == 0)
		*standby = TRUE;
	else
		ok = invalid(error, "[%s] replica_start = \"%s\": expected on-failover or standby",
			     group, text);
	g_free(text);
	return ok;
}

/* A size in bytes, with an optional K, M or G suffix (binary). */
static gboolean take_size(GKeyFile *kf, const char *group, const char *key, guint64 *dst,
			  GError **error)
{
	char *text = NULL, *end;
	guint64 v;
	int shift = 0;
	gboolean ok = TRUE;

	if (!take_string(kf, group, key, &text, error))
		return FALSE;
	if (!text)
		return TRUE;
	v = g_ascii_strtoull(text, &end, 10);
	if (*end == 'K' || *end == 'M' || *end == 'G')
		shift = *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
	if (end == text || (shift && end[1]) || (!shift && *end) || v == 0 || v > (1ull << 40) >> shift)
		ok = invalid(error, "[%s] %s = \"%s\": expected a size such as 524288, 512K or 1M",
			     group, key, text);
	else
		*dst = v << shift;
	g_free(text);
	return ok;
}

/* The VM keys of an instance (config.h); defaults first. */
static gboolean load_vm(struct hostd_vm_cfg *vm, GKeyFile *kf, const char *group, GError **error)
{
	vm->qemu = g_strdup("qemu-system-x86_64");
	vm->machine = g_strdup("pc-i440fx-7.2");
	vm->accel = g_strdup("auto");
	vm->memory_mb = 256;
	vm->smp = 1;
	vm->queues = 1;
	vm->checkpoint_interval_ms = 50;
	return take_string(kf, group, "kernel", &vm->kernel, error) &&
	       take_string(kf, group, "initrd", &vm->initrd, error) &&
	       take_string(kf, group, "append", &vm->append, error) &&
	       take_string(kf, group, "qemu", &vm->qemu, error) &&
	       take_string(kf, group, "machine", &vm->machine, error) &&
	       take_string(kf, group, "accel", &vm->accel, error) &&
	       take_uint(kf, group, "memory_mb", 16, 1u << 20, &vm->memory_mb, error) &&
	       take_uint(kf, group, "smp", 1, 256, &vm->smp, error) &&
	       take_uint(kf, group, "queues", 1, FTMB_MAX_THREADS, &vm->queues, error) &&
	       take_string(kf, group, "mac", &vm->mac, error) &&
	       take_uint(kf, group, "queue_size", 256, 1024, &vm->queue_size, error) &&
	       take_string(kf, group, "ram_file", &vm->ram_file, error) &&
	       take_string(kf, group, "vhost_socket", &vm->vhost_socket, error) &&
	       take_string(kf, group, "region", &vm->region, error) &&
	       take_size(kf, group, "region_size", &vm->region_size, error) &&
	       take_uint(kf, group, "checkpoint_interval_ms", 1, 60000,
			 &vm->checkpoint_interval_ms, error);
}

static gboolean load_instance(struct hostd_config *cfg, GKeyFile *kf, const char *group,
			      GError **error)
{
	static const char *const known[] = {
		"primary", "backup", "reprotect", "on_backup_lost", "replica_vhost", "replica_middlebox",
		"kernel", "initrd", "append", "qemu", "machine", "accel", "memory_mb", "smp",
		"queues", "mac", "queue_size", "ram_file", "vhost_socket", "region", "region_size",
		"checkpoint_interval_ms", "replica_start", NULL
	};
	struct hostd_instance_cfg *inst = g_new0(struct hostd_instance_cfg, 1);

	inst->name = g_strdup(group + strlen(INSTANCE_GROUP));
	g_ptr_array_add(cfg->instances, inst);
	return check_keys(kf, group, known, error) &&
	       take_string(kf, group, "primary", &inst->primary, error) &&
	       take_string(kf, group, "backup", &inst->backup, error) &&
	       take_string(kf, group, "reprotect", &inst->reprotect, error) &&
	       take_policy(kf, group, &inst->on_backup_lost, error) &&
	       take_argv(kf, group, "replica_vhost", &inst->replica_vhost, error) &&
	       take_argv(kf, group, "replica_middlebox", &inst->replica_middlebox, error) &&
	       take_replica_start(kf, group, &inst->replica_standby, error) &&
	       load_vm(&inst->vm, kf, group, error);
}

gboolean hostd_config_load_keyfile(struct hostd_config *cfg, GKeyFile *kf, GError **error)
{
	char **groups = g_key_file_get_groups(kf, NULL);
	gboolean ok = load_hostd(cfg, kf, error) && load_peers(cfg, kf, error);

	for (char **g = groups; ok && *g; g++) {
		if (g_str_has_prefix(*g, INSTANCE_GROUP))
			ok = load_instance(cfg, kf, *g, error);
		else if (strcmp(*g, "hostd") != 0 && strcmp(*g, "peers") != 0)
			ok = invalid(error, "unknown section [%s]: expected [hostd], [peers] or "
					    "[instance NAME]", *g);
	}
	g_strfreev(groups);
	return ok;
}

gboolean hostd_config_load_data(struct hostd_config *cfg, const char *data, GError **error)
{
	GKeyFile *kf = g_key_file_new();
	gboolean ok = g_key_file_load_from_data(kf, data, (gsize)-1, G_KEY_FILE_NONE, error) &&
		      hostd_config_load_keyfile(cfg, kf, error);

	g_key_file_free(kf);
	return ok;
}

gboolean hostd_config_load_file(struct hostd_config *cfg, const char *path, GError **error)
{
	GKeyFile *kf = g_key_file_new();
	gboolean ok = g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error) &&
		      hostd_config_load_keyfile(cfg, kf, error);

	if (!ok)
		g_prefix_error(error, "%s: ", path);
	g_key_file_free(kf);
	return ok;
}

/* A host named by an instance must be this one or a trusted peer. */
static gboolean check_host_ref(const struct hostd_config *cfg, const char *inst, const char *key,
			       const char *host, GError **error)
{
	if (!host)
		return invalid(error, "[instance %s]: %s is not set", inst, key);
	if (strcmp(host, cfg->name) != 0 && !hostd_config_peer(cfg, host))
		return invalid(error, "[instance %s] %s = %s: not this host (%s) nor a peer in [peers]",
			       inst, key, host, cfg->name);
	return TRUE;
}

static gboolean argv_mentions(char **argv, const char *word)
{
	for (char **a = argv; a && *a; a++)
		if (strstr(*a, word))
			return TRUE;
	return FALSE;
}

/* xx:xx:xx:xx:xx:xx in hex, the group bit of the first octet clear. */
static gboolean is_unicast_mac(const char *mac)
{
	if (strlen(mac) != 17)
		return FALSE;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? mac[i] != ':' : !g_ascii_isxdigit(mac[i]))
			return FALSE;
	return !(g_ascii_xdigit_value(mac[1]) & 1);
}

/* A VM instance needs what its command line is made of. */
static gboolean validate_vm(const struct hostd_instance_cfg *inst, GError **error)
{
	const struct hostd_vm_cfg *vm = &inst->vm;
	const char *n = inst->name;

	if (!vm->kernel)
		return TRUE;
	if (inst->replica_standby)
		return invalid(error, "[instance %s]: replica_start = standby is for host-process "
				      "instances: a VM's replica_vhost attaches to the region its "
				      "restore writes", n);
	if (!vm->vhost_socket || !vm->region || !vm->region_size)
		return invalid(error, "[instance %s]: a VM instance (kernel is set) needs vhost_socket, "
				      "region and region_size (ftmb-vhost's socket and region)", n);
	if (vm->region_size < 4096 || (vm->region_size & (vm->region_size - 1)))
		return invalid(error, "[instance %s] region_size = %" G_GUINT64_FORMAT ": must be a power "
				      "of two of 4096 or more (ftmb-vhost's region size)",
			       n, vm->region_size);
	if (strcmp(vm->accel, "kvm") && strcmp(vm->accel, "tcg") && strcmp(vm->accel, "auto"))
		return invalid(error, "[instance %s] accel = %s: expected kvm, tcg or auto", n,
			       vm->accel);
	if (vm->mac && !is_unicast_mac(vm->mac))
		return invalid(error, "[instance %s] mac = %s: expected a unicast MAC such as "
				      "02:f7:00:00:00:01", n, vm->mac);
	if (vm->queue_size & (vm->queue_size - 1))
		return invalid(error, "[instance %s] queue_size = %u: QEMU wants 256, 512 or 1024", n,
			       vm->queue_size);
	if (!g_path_is_absolute(vm->vhost_socket) || !g_path_is_absolute(vm->region) ||
	    !g_path_is_absolute(vm->kernel) || (vm->ram_file && !g_path_is_absolute(vm->ram_file)))
		return invalid(error, "[instance %s]: kernel, vhost_socket, region and ram_file must be "
				      "absolute paths", n);
	return TRUE;
}

/* The third host that protects the replica once the backup runs it. */
static gboolean validate_reprotect(const struct hostd_config *cfg,
				   const struct hostd_instance_cfg *inst, GError **error)
{
	const char *n = inst->name;

	if (!inst->reprotect)
		return TRUE;
	if (!check_host_ref(cfg, n, "reprotect", inst->reprotect, error))
		return FALSE;
	if (!strcmp(inst->reprotect, inst->primary) || !strcmp(inst->reprotect, inst->backup))
		return invalid(error, "[instance %s] reprotect = %s: must be a third host, neither "
				      "the primary (%s) nor the backup (%s)",
			       n, inst->reprotect, inst->primary, inst->backup);
	if (!inst->vm.kernel)
		return invalid(error, "[instance %s] reprotect: only VM instances are re-protected "
				      "(a new backup gets a fresh full checkpoint); remove it or set kernel",
			       n);
	if (!strcmp(inst->reprotect, cfg->name) && !inst->replica_vhost)
		return invalid(error, "[instance %s]: this host (%s) re-protects it, so replica_vhost "
				      "(the ftmb-vhost replay command, with %%LOG%%) must be set",
			       n, cfg->name);
	return TRUE;
}

static gboolean validate_instance(const struct hostd_config *cfg,
				  struct hostd_instance_cfg *inst, GError **error)
{
	const char *n = inst->name;

	if (!hostd_valid_name(n))
		return invalid(error, "[instance %s]: instance names are 1 to %u of A-Z a-z 0-9 . _ -",
			       n, FTMB_INSTANCE_MAX);
	if (!check_host_ref(cfg, n, "primary", inst->primary, error) ||
	    !check_host_ref(cfg, n, "backup", inst->backup, error))
		return FALSE;
	if (strcmp(inst->primary, inst->backup) == 0)
		return invalid(error, "[instance %s]: primary and backup are both %s; a backup must "
				      "be another failure domain", n, inst->primary);
	if (!validate_vm(inst, error) || !validate_reprotect(cfg, inst, error))
		return FALSE;
	if (inst->vm.kernel && !inst->vm.ram_file)
		inst->vm.ram_file = g_strdup_printf("/dev/shm/ftmb-%s-ram", n);
	if (strcmp(inst->backup, cfg->name) != 0)
		return TRUE;
	if (!inst->replica_vhost)
		return invalid(error, "[instance %s]: this host (%s) is its backup, so replica_vhost "
				      "(the ftmb-vhost replay command, with %%LOG%%) must be set",
			       n, cfg->name);
	if (!argv_mentions(inst->replica_vhost, "%LOG%"))
		return invalid(error, "[instance %s] replica_vhost: the command must pass %%LOG%% "
				      "(the replay file) to ftmb-vhost", n);
	return TRUE;
}

static gboolean validate_peers(struct hostd_config *cfg, GError **error)
{
	for (guint i = 0; i < cfg->peers->len; i++) {
		struct hostd_peer_cfg *p = g_ptr_array_index(cfg->peers, i);

		if (!hostd_valid_name(p->name))
			return invalid(error, "[peers] %s: peer names are 1 to %u of A-Z a-z 0-9 . _ -",
				       p->name, FTMB_INSTANCE_MAX);
		if (!net_parse_address(p->address_text, HOSTD_DEFAULT_PORT, &p->address, error)) {
			g_prefix_error(error, "[peers] %s: ", p->name);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean hostd_config_validate(struct hostd_config *cfg, GError **error)
{
	if (!hostd_valid_name(cfg->name))
		return invalid(error, "[hostd] name = \"%s\": host names are 1 to %u of A-Z a-z 0-9 . _ - "
				      "(set name or --name)", cfg->name, FTMB_INSTANCE_MAX);
	if (cfg->failure_timeout_ms < 2 * cfg->heartbeat_interval_ms)
		return invalid(error, "failure_timeout_ms (%u) must be at least twice "
				      "heartbeat_interval_ms (%u), or one late heartbeat is a failure",
			       cfg->failure_timeout_ms, cfg->heartbeat_interval_ms);
	if (!g_path_is_absolute(cfg->control_socket) || !g_path_is_absolute(cfg->state_dir))
		return invalid(error, "control_socket (%s) and state_dir (%s) must be absolute paths",
			       cfg->control_socket, cfg->state_dir);
	if (!net_parse_address(cfg->listen_text, HOSTD_DEFAULT_PORT, &cfg->listen, error)) {
		g_prefix_error(error, "[hostd] listen: ");
		return FALSE;
	}
	if (!validate_peers(cfg, error))
		return FALSE;
	for (guint i = 0; i < cfg->instances->len; i++)
		if (!validate_instance(cfg, g_ptr_array_index(cfg->instances, i), error))
			return FALSE;
	return TRUE;
}
