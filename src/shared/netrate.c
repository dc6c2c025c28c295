/* See netrate.h. */
#include "shared/netrate.h"
#include "shared/run.h"

#include <stdio.h>

#define TC_PATH "/usr/sbin/tc"

static int
tc(const char *const *argv, struct error *err)
{
	struct run_options o = { .argv = argv, .path = TC_PATH };
	return run_program(&o, NULL, err);
}

int
net_rate_limit(const char *ifname, double rate_mbs, struct error *err)
{
	/* PVE's setup_tc_rate_limit: drop what there was, then an ingress policer (traffic
	 * from the guest enters the host through its ifname or veth) and an htb class on the
	 * device's root (traffic to the guest); rate in bytes per second, burst 1 MiB */
	const char *const clear[][10] = {
		{ "tc", "class", "del", "dev", ifname, "parent", "1:", "classid", "1:1", NULL },
		{ "tc", "qdisc", "del", "dev", ifname, "ingress", NULL },
		{ "tc", "qdisc", "del", "dev", ifname, "root", NULL },
	};
	struct error ignored = { 0 }; /* there may be nothing to delete */
	for (size_t i = 0; i < ARRAY_SIZE(clear); i++)
		(void)tc(clear[i], &ignored);
	if (rate_mbs <= 0)
		return 0;
	char rate[32];
	snprintf(rate, sizeof(rate), "%llubps", (unsigned long long)(rate_mbs * 1024 * 1024));
	const char *const htb[] = { "tc",     "qdisc", "add", "dev",     ifname, "root",
		                    "handle", "1:",    "htb", "default", "1",    NULL };
	const char *const cls[] = { "tc",     "class", "add",     "dev",      ifname,
		                    "parent", "1:",    "classid", "1:1",      "htb",
		                    "rate",   rate,    "burst",   "1048576b", NULL };
	int r = tc(htb, err);
	if (r >= 0)
		r = tc(cls, err);
	if (r < 0)
		return r;
	const char *const ingress[] = { "tc",     "qdisc", "add",     "dev", ifname,
		                        "handle", "ffff:", "ingress", NULL };
	const char *const police[] = { "tc",    "filter", "add",    "dev",   ifname,   "parent",
		                       "ffff:", "prio",   "50",     "basic", "police", "avrate",
		                       rate,    "drop",   "flowid", ":1",    NULL };
	if (tc(ingress, &ignored) < 0 || tc(police, &ignored) < 0) {
		(void)tc(clear[1], &ignored); /* no ingress qdisc without its policer */
		return 1;
	}
	return 0;
}
