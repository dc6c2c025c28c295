/* GET /nodes, /nodes/{node} and /nodes/{node}/status: real figures from the host. */
#include "api/handlers.h"
#include "basic/clock.h"
#include "shared/hoststats.h"
#include "shared/kvconfig.h"
#include "store/store.h"

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

json_t *
node_entry(struct api_ctx *ctx, const char *node, bool audit)
{
	json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "node", node, "status", "online", "type",
	                      "node", "id", "");
	_cleanup_free_ char *id = xasprintf("node/%s", node);
	json_object_set_new(e, "id", json_string(id));
	if (ctx->ssl_fingerprint)
		json_object_set_new(e, "ssl_fingerprint", json_string(ctx->ssl_fingerprint));
	if (!audit)
		return e;
	struct meminfo mem;
	struct fs_usage fs;
	uint64_t uptime = 0;
	json_object_set_new(e, "level", json_string(""));
	json_object_set_new(e, "cpu", json_real(ctx->host->cpu));
	json_object_set_new(e, "maxcpu", json_integer(ctx->host->ncpus));
	if (read_meminfo(&mem) >= 0) {
		json_object_set_new(e, "mem",
		                    json_integer((json_int_t)(mem.total - mem.available)));
		json_object_set_new(e, "maxmem", json_integer((json_int_t)mem.total));
	}
	if (read_fs_usage("/", &fs) >= 0) {
		json_object_set_new(e, "disk", json_integer((json_int_t)fs.used));
		json_object_set_new(e, "maxdisk", json_integer((json_int_t)fs.total));
	}
	if (read_uptime(&uptime) >= 0)
		json_object_set_new(e, "uptime", json_integer((json_int_t)uptime));
	return e;
}

json_t *
index_list(const char *const *names)
{
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(a, json_pack("{s:s}", "name", *n));
	return a;
}

static int
list_nodes(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	_cleanup_free_ char *path = xasprintf("/nodes/%s", ctx->node);
	c->data = json_array();
	json_array_append_new(
	        c->data, node_entry(ctx, ctx->node, api_has_privs(c, path, "Sys.Audit", false)));
	return 0;
}

static int
node_index(struct api_call *c)
{
	static const char *const names[] = { "berth",  "config", "metrics", "rrddata",
		                             "status", "tasks",  "version", NULL };
	c->data = index_list(names);
	return 0;
}

static json_t *
fs_object(const char *path)
{
	struct fs_usage fs;
	if (read_fs_usage(path, &fs) < 0)
		return json_object();
	return json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)fs.total, "used",
	                 (json_int_t)fs.used, "free", (json_int_t)fs.free, "avail",
	                 (json_int_t)fs.avail);
}

/* The answer as sent, kept for up to a second: figures finer than that tell nothing (the
 * CPU share itself is sampled every 5 s), and reading /proc and serializing the CPU flags
 * on every request would make this the slowest small GET. */
#define NODE_STATUS_CACHE_NS (1000 * 1000 * 1000LL)

static int
node_status(struct api_call *c)
{
	static char *cached;
	static int64_t cached_at;
	int64_t now = monotonic_ns();
	if (!cached || now - cached_at >= NODE_STATUS_CACHE_NS) {
		json_t *d = node_status_json(c->ctx, c->ctx->host);
		free(cached);
		cached = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(12));
		json_decref(d);
		if (!cached)
			oom();
		cached_at = now;
	}
	c->data_text = xstrdup(cached);
	return 0;
}

json_t *
node_status_json(struct api_ctx *ctx, const struct hoststats *host)
{
	json_t *d = json_object();

	uint64_t uptime = 0;
	if (read_uptime(&uptime) >= 0)
		json_object_set_new(d, "uptime", json_integer((json_int_t)uptime));
	char load[3][16];
	if (read_loadavg(load) >= 0)
		json_object_set_new(d, "loadavg", json_pack("[s,s,s]", load[0], load[1], load[2]));

	struct utsname u;
	if (uname(&u) == 0) {
		_cleanup_free_ char *kv = xasprintf("%s %s %s", u.sysname, u.release, u.version);
		json_object_set_new(d, "kversion", json_string(kv));
		json_object_set_new(d, "current-kernel",
		                    json_pack("{s:s, s:s, s:s, s:s}", "sysname", u.sysname,
		                              "release", u.release, "version", u.version, "machine",
		                              u.machine));
	}
	bool efi = access("/sys/firmware/efi", F_OK) == 0;
	json_object_set_new(
	        d, "boot-info",
	        json_pack("{s:s, s:i}", "mode", efi ? "efi" : "legacy-bios", "secureboot", 0));

	/* the CPU's model and flags do not change while we run: parse /proc/cpuinfo once */
	static json_t *cpu_json;
	struct cpuinfo ci;
	if (!cpu_json && read_cpuinfo(&ci) >= 0) {
		cpu_json = json_pack("{s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:i}", "cpus", ci.cpus,
		                     "cores", ci.cores, "sockets", ci.sockets, "model", ci.model,
		                     "mhz", ci.mhz, "hvm", ci.hvm ? "1" : "0", "flags", ci.flags,
		                     "user_hz", (int)sysconf(_SC_CLK_TCK));
		cpuinfo_done(&ci);
	}
	if (cpu_json)
		json_object_set(d, "cpuinfo", cpu_json);
	json_object_set_new(d, "cpu", json_real(host->cpu));
	json_object_set_new(d, "wait", json_real(host->wait));

	struct meminfo m;
	if (read_meminfo(&m) >= 0) {
		json_object_set_new(d, "memory",
		                    json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)m.total,
		                              "used", (json_int_t)(m.total - m.available), "free",
		                              (json_int_t)m.available, "available",
		                              (json_int_t)m.available));
		json_object_set_new(d, "swap",
		                    json_pack("{s:I, s:I, s:I}", "total", (json_int_t)m.swap_total,
		                              "used", (json_int_t)(m.swap_total - m.swap_free),
		                              "free", (json_int_t)m.swap_free));
	}
	json_object_set_new(d, "ksm", json_pack("{s:i}", "shared", 0));
	json_object_set_new(d, "rootfs", fs_object("/"));
	json_t *v = version_info();
	_cleanup_free_ char *pv =
	        xasprintf("pve-manager/%s/%s", json_string_value(json_object_get(v, "version")),
	                  BERTH_REPOID);
	json_decref(v);
	json_object_set_new(d, "pveversion", json_string(pv));
	json_object_set_new(d, "berthversion", json_string(BERTH_VERSION));
	return d;
}

/* ---- nodes/<node>/config: description, start delay, wake on LAN ---- */

static const struct api_schema wakeonlan_keys[] = {
	{ .name = "mac",
	  .type = API_T_STRING,
	  .format = "mac-addr",
	  .default_key = true,
	  .description = "MAC address for wake on LAN" },
	{ .name = "bind-interface",
	  .type = API_T_STRING,
	  .format = "pve-bridge-id",
	  .optional = true,
	  .description = "Bind to this interface when sending wake on LAN packet" },
	{ .name = "broadcast-address",
	  .type = API_T_STRING,
	  .format = "ipv4",
	  .optional = true,
	  .description = "IPv4 broadcast address to use when sending wake on LAN packet" },
	PARAM_END,
};

/* the settable keys, in the order of the schema; also the PUT parameters */
#define NODE_CONFIG_KEYS                                                                           \
	{ .name = "description",                                                                   \
	  .type = API_T_STRING,                                                                    \
	  .max_length = 65536,                                                                     \
	  .optional = true,                                                                        \
	  .description = "Description for the Node. Shown in the web-interface node notes "        \
		         "panel. This is saved as comment inside the configuration file." },       \
	        { .name = "startall-onboot-delay",                                                 \
		  .type = API_T_INTEGER,                                                           \
		  .minimum = 0,                                                                    \
		  .maximum = 300,                                                                  \
		  .flags = API_F_HAS_MIN | API_F_HAS_MAX,                                          \
		  .optional = true,                                                                \
		  .default_text = "0",                                                             \
		  .description = "Initial delay in seconds, before starting all the Virtual "      \
		                 "Guests with on-boot enabled." },                                 \
	        { .name = "ballooning-target",                                                     \
		  .type = API_T_INTEGER,                                                           \
		  .minimum = 0,                                                                    \
		  .maximum = 100,                                                                  \
		  .flags = API_F_HAS_MIN | API_F_HAS_MAX,                                          \
		  .optional = true,                                                                \
		  .default_text = "80",                                                            \
		  .description = "RAM usage target for ballooning (in percent of total memory)" }, \
	        { .name = "wakeonlan",                                                             \
		  .type = API_T_STRING,                                                            \
		  .props = wakeonlan_keys,                                                         \
		  .optional = true,                                                                \
		  .description = "Node specific wake on LAN settings." },                          \
	{                                                                                          \
		.name = "kvm", .type = API_T_BOOLEAN, .optional = true,                            \
		.description = "Berth: run VMs with KVM (1) or TCG software emulation (0). "       \
		               "Unset: KVM when /dev/kvm works and the CPU has vmx or svm."        \
	}

static const struct api_schema node_config_keys[] = { NODE_CONFIG_KEYS, PARAM_END };

static char *
node_config_path(struct api_call *c)
{
	return xasprintf("nodes/%s/config", param_str(c->params, "node"));
}

static int
get_node_config(struct api_call *c)
{
	_cleanup_free_ char *path = node_config_path(c);
	struct store_file f = { 0 };
	int r = store_read(c->ctx->store, path, &f);
	if (r < 0 && r != -ENOENT)
		return api_fail(c, 500, "unable to read node config - %s", strerror(-r));
	json_t *raw = kvconfig_parse(r == 0 ? f.data : "");
	json_t *out = json_object();
	/* typed values for known keys; what does not validate is left out, as PVE does */
	for (const struct api_schema *k = node_config_keys; k->name; k++) {
		json_t *v = json_object_get(raw, k->name), *typed = NULL;
		if (v && schema_check_value(k, k->name, v, &typed, NULL) == 0)
			json_object_set_new(out, k->name, typed);
	}
	json_decref(raw);
	const char *prop = param_str(c->params, "property");
	if (prop) {
		json_t *v = json_incref(json_object_get(out, prop));
		json_decref(out);
		out = json_object();
		if (v)
			json_object_set_new(out, prop, v);
	} else if (r == 0) {
		json_object_set_new(out, "digest", json_string(f.digest));
	}
	store_file_done(&f);
	c->data = out;
	return 0;
}

static char *
edit_node_config(struct api_call *c, const char *old, const char *old_digest, void *arg)
{
	if (api_digest_check(c, old_digest) < 0)
		return NULL;
	json_t *conf = kvconfig_parse(old);
	for (const struct api_schema *k = node_config_keys; k->name; k++) {
		json_t *v = json_object_get(c->params, k->name);
		if (json_is_integer(v))
			json_object_set_new(
			        conf, k->name,
			        json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
		else if (v)
			json_object_set(conf, k->name, v);
	}
	if (param_has(c->params, "delete")) {
		char **keys = split_list(param_str(c->params, "delete"));
		for (char **k = keys; *k; k++)
			json_object_del(conf, *k);
		strv_free(keys);
	}
	const char *bad = NULL;
	char *text = kvconfig_format(conf, &bad);
	if (!text)
		api_fail(c, 500, "detected invalid newline inside property '%s'", bad);
	json_decref(conf);
	return text;
}

static int
set_node_config(struct api_call *c)
{
	_cleanup_free_ char *path = node_config_path(c);
	return store_text_update(c, path, edit_node_config, NULL);
}

static const char *const node_config_props[] = { "description", "startall-onboot-delay",
	                                         "ballooning-target", "wakeonlan", NULL };

static const struct api_schema no_params[] = { PARAM_END };
static const struct api_schema node_params[] = { PARAM_NODE, PARAM_END };
static const struct api_schema get_config_params[] = {
	PARAM_NODE,
	{ .name = "property",
	  .type = API_T_STRING,
	  .enums = node_config_props,
	  .optional = true,
	  .default_text = "all",
	  .description = "Return only a specific property from the node configuration." },
	PARAM_END,
};
static const struct api_schema set_config_params[] = {
	PARAM_NODE,
	NODE_CONFIG_KEYS,
	{ .name = "delete",
	  .type = API_T_STRING,
	  .format = "pve-configid-list",
	  .optional = true,
	  .description = "A list of settings you want to delete." },
	PARAM_DIGEST,
	PARAM_END,
};

static const struct api_schema node_list_item[] = {
	{ .name = "node", .type = API_T_STRING, .description = "The cluster node name." },
	{ .name = "status", .type = API_T_STRING, .description = "Node status." },
	{ .name = "cpu",
	  .type = API_T_NUMBER,
	  .optional = true,
	  .description = "CPU utilization." },
	{ .name = "maxcpu",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .description = "Number of available CPUs." },
	{ .name = "mem",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .description = "Used memory in bytes." },
	{ .name = "maxmem",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .description = "Number of available memory in bytes." },
	{ .name = "uptime",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .description = "Node uptime in seconds." },
	PARAM_END,
};

const struct api_route api_routes_nodes[] = {
	{ .method = API_GET,
	  .path = "/nodes",
	  .params = no_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "Figures need Sys.Audit on /nodes/<node>." },
	  .handler = list_nodes,
	  .description = "Cluster node index.",
	  .returns =
	          &(const struct api_schema){
	                  .type = API_T_ARRAY,
	                  .items = &(const struct api_schema){ .type = API_T_OBJECT,
	                                                       .props = node_list_item } } },
	{ .method = API_GET,
	  .path = "/nodes/{node}",
	  .params = node_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = node_index,
	  .description = "Node index." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/status",
	  .params = node_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/nodes/{node}", .privs = "Sys.Audit" },
	  .handler = node_status,
	  .description = "Read node status: CPU, memory, swap, root file "
	                 "system, load, kernel and CPU model." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/config",
	  .params = get_config_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/", .privs = "Sys.Audit" },
	  .handler = get_node_config,
	  .description = "Get node configuration options." },
	{ .method = API_PUT,
	  .path = "/nodes/{node}/config",
	  .params = set_config_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/", .privs = "Sys.Modify" },
	  .handler = set_node_config,
	  .description = "Set node configuration options (compare-and-set with 'digest')." },
	{ 0 },
};
