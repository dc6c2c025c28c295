/* GET /version and /nodes/{node}/version: what Proxmox VE release Berth answers as. */
#include "api/handlers.h"

/* Proxmox VE release whose API Berth implements; Ansible switches code paths on it. */
#define PVE_COMPAT_VERSION "8.4.0"
#define PVE_COMPAT_RELEASE "8.4"

json_t *
version_info(void)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "version", PVE_COMPAT_VERSION, "release",
	                 PVE_COMPAT_RELEASE, "repoid", BERTH_REPOID, "berth", BERTH_VERSION);
}

static int
get_version(struct api_call *c)
{
	c->data = version_info();
	return 0;
}

static const struct api_schema version_returns[] = {
	{ .name = "version",
	  .type = API_T_STRING,
	  .description = "The Proxmox VE version Berth is API-compatible with." },
	{ .name = "release", .type = API_T_STRING, .description = "The matching release." },
	{ .name = "repoid", .type = API_T_STRING, .description = "Berth's source revision." },
	{ .name = "berth", .type = API_T_STRING, .description = "Berth's own version." },
	PARAM_END,
};

static const struct api_schema no_params[] = { PARAM_END };
static const struct api_schema node_params[] = { PARAM_NODE, PARAM_END };

const struct api_route api_routes_version[] = {
	{ .method = API_GET,
	  .path = "/version",
	  .params = no_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = get_version,
	  .description = "API version details: the Proxmox VE version Berth is compatible with "
	                 "and Berth's own version.",
	  .returns = &(const struct api_schema){ .type = API_T_OBJECT, .props = version_returns } },
	{ .method = API_GET,
	  .path = "/nodes/{node}/version",
	  .params = node_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/nodes/{node}", .privs = "Sys.Audit" },
	  .handler = get_version,
	  .description = "API version details of this node.",
	  .returns = &(const struct api_schema){ .type = API_T_OBJECT, .props = version_returns } },
	{ 0 },
};
