/* GET /nodes, /nodes/{node} and /nodes/{node}/status: real figures from the host. */
#include "api/handlers.h"
#include "shared/hoststats.h"

#include <sys/utsname.h>
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
		json_object_set_new(e, "mem", json_integer((json_int_t)(mem.total - mem.available)));
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
	json_array_append_new(c->data,
			      node_entry(ctx, ctx->node, api_has_privs(c, path, "Sys.Audit", false)));
	return 0;
}

static int
node_index(struct api_call *c)
{
	static const char *const names[] = { "status", "tasks", "version", "berth", NULL };
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

static int
node_status(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
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
	json_object_set_new(d, "boot-info",
			    json_pack("{s:s, s:i}", "mode", efi ? "efi" : "legacy-bios", "secureboot", 0));

	struct cpuinfo ci;
	if (read_cpuinfo(&ci) >= 0) {
		json_object_set_new(d, "cpuinfo",
				    json_pack("{s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:i}", "cpus",
					      ci.cpus, "cores", ci.cores, "sockets", ci.sockets,
					      "model", ci.model, "mhz", ci.mhz, "hvm",
					      ci.hvm ? "1" : "0", "flags", ci.flags, "user_hz",
					      (int)sysconf(_SC_CLK_TCK)));
		cpuinfo_done(&ci);
	}
	json_object_set_new(d, "cpu", json_real(ctx->host->cpu));
	json_object_set_new(d, "wait", json_real(ctx->host->wait));

	struct meminfo m;
	if (read_meminfo(&m) >= 0) {
		json_object_set_new(d, "memory",
				    json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)m.total,
					      "used", (json_int_t)(m.total - m.available), "free",
					      (json_int_t)m.available, "available",
					      (json_int_t)m.available));
		json_object_set_new(d, "swap",
				    json_pack("{s:I, s:I, s:I}", "total", (json_int_t)m.swap_total,
					      "used", (json_int_t)(m.swap_total - m.swap_free), "free",
					      (json_int_t)m.swap_free));
	}
	json_object_set_new(d, "ksm", json_pack("{s:i}", "shared", 0));
	json_object_set_new(d, "rootfs", fs_object("/"));
	json_t *v = version_info();
	_cleanup_free_ char *pv = xasprintf("pve-manager/%s/%s", json_string_value(json_object_get(v, "version")),
					    BERTH_REPOID);
	json_decref(v);
	json_object_set_new(d, "pveversion", json_string(pv));
	json_object_set_new(d, "berthversion", json_string(BERTH_VERSION));
	c->data = d;
	return 0;
}

static const struct api_schema no_params[] = { PARAM_END };
static const struct api_schema node_params[] = { PARAM_NODE, PARAM_END };

static const struct api_schema node_list_item[] = {
	{ .name = "node", .type = API_T_STRING, .description = "The cluster node name." },
	{ .name = "status", .type = API_T_STRING, .description = "Node status." },
	{ .name = "cpu", .type = API_T_NUMBER, .optional = true, .description = "CPU utilization." },
	{ .name = "maxcpu", .type = API_T_INTEGER, .optional = true,
	  .description = "Number of available CPUs." },
	{ .name = "mem", .type = API_T_INTEGER, .optional = true, .description = "Used memory in bytes." },
	{ .name = "maxmem", .type = API_T_INTEGER, .optional = true,
	  .description = "Number of available memory in bytes." },
	{ .name = "uptime", .type = API_T_INTEGER, .optional = true, .description = "Node uptime in seconds." },
	PARAM_END,
};

const struct api_route api_routes_nodes[] = {
	{ .method = API_GET, .path = "/nodes", .params = no_params,
	  .perm = { .kind = PERM_ANY_USER,
		    .description = "Figures need Sys.Audit on /nodes/<node>." },
	  .handler = list_nodes, .description = "Cluster node index.",
	  .returns = &(const struct api_schema){
		  .type = API_T_ARRAY,
		  .items = &(const struct api_schema){ .type = API_T_OBJECT, .props = node_list_item } } },
	{ .method = API_GET, .path = "/nodes/{node}", .params = node_params,
	  .perm = { .kind = PERM_ANY_USER }, .handler = node_index,
	  .description = "Node index." },
	{ .method = API_GET, .path = "/nodes/{node}/status", .params = node_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/nodes/{node}", .privs = "Sys.Audit" },
	  .handler = node_status, .description = "Read node status: CPU, memory, swap, root file "
						 "system, load, kernel and CPU model." },
	{ 0 },
};
