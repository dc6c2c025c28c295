/* A running container's NICs changed in place, as PVE's update_net, hotplug_net and
 * update_ipconfig do: iproute2 on the host side, and the host's `ip` run in the CT's network
 * namespace through nsenter inside it (PVE runs it with `lxc-attach -s NETWORK`, the same
 * thing: no binary of the CT is trusted or needed). */
#include "guest/lxc/lxcgen.h"
#include "guest/lxc/runtime.h"
#include "shared/netrate.h"
#include "shared/run.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#define ARGV_MAX 16

struct hp {
	pid_t pid;
	char veth[16], peer[16];
	ct_log_fn log;
	void *userdata;
};

static void
hp_log(const struct hp *h, const char *const *argv, bool inside)
{
	if (!h->log)
		return;
	char line[512];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s", inside ? "(in CT) " : "");
	for (const char *const *a = argv; *a && n < sizeof(line); a++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", a == argv ? "" : " ", *a);
	h->log(line, h->userdata);
}

/* Run `ip <args...>` (NULL-terminated) on the host, or inside the CT's network namespace. */
static int
ip(const struct hp *h, bool inside, struct error *err, ...)
{
	const char *argv[ARGV_MAX + 4];
	size_t n = 0;
	char netns[64];
	if (inside) {
		snprintf(netns, sizeof(netns), "--net=/proc/%d/ns/net", (int)h->pid);
		argv[n++] = "nsenter";
		argv[n++] = netns;
	}
	argv[n++] = "ip";
	size_t first = n - 1;
	va_list ap;
	va_start(ap, err);
	for (const char *a; (a = va_arg(ap, const char *)) && n < ARRAY_SIZE(argv) - 1;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	hp_log(h, argv + first, inside);
	struct run_options o = { .argv = argv };
	return run_program(&o, NULL, err);
}

static bool
str_ne(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && !streq(a, b));
}

static bool
is_static(const char *addr)
{
	return addr && strchr(addr, '/');
}

/* The host end on its bridge, up unless link_down (PVE's net_tap_plug). */
static int
plug(const struct hp *h, const struct ct_net *n, struct error *err)
{
	int r = 0;
	if (n->bridge)
		r = ip(h, false, err, "link", "set", h->veth, "master", n->bridge, NULL);
	if (r >= 0)
		r = ip(h, false, err, "link", "set", h->veth, n->link_down ? "down" : "up", NULL);
	return r;
}

/* A new veth pair: the host end on the bridge, the other moved into the CT under its name
 * with its MAC and MTU, and up (PVE's hotplug_net). */
static int
add_nic(const struct hp *h, const struct ct_net *n, struct error *err)
{
	char pid[16], mtu[16];
	snprintf(pid, sizeof(pid), "%d", (int)h->pid);
	snprintf(mtu, sizeof(mtu), "%u", n->mtu);
	int r = ip(h, false, err, "link", "add", "name", h->veth, "type", "veth", "peer", "name",
	           h->peer, NULL);
	if (r < 0)
		return r;
	if (n->mtu)
		r = ip(h, false, err, "link", "set", h->veth, "mtu", mtu, NULL);
	if (r >= 0)
		r = plug(h, n, err);
	if (r >= 0)
		r = ip(h, false, err, "link", "set", h->peer, "netns", pid, NULL);
	if (r >= 0)
		r = ip(h, true, err, "link", "set", h->peer, "name", n->name, NULL);
	if (r >= 0 && n->hwaddr)
		r = ip(h, true, err, "link", "set", n->name, "address", n->hwaddr, NULL);
	if (r >= 0 && n->mtu)
		r = ip(h, true, err, "link", "set", n->name, "mtu", mtu, NULL);
	if (r >= 0)
		r = ip(h, true, err, "link", "set", n->name, "up", NULL);
	if (r < 0) {
		/* nothing half-made: the pair goes with its host end */
		struct error e = { 0 };
		(void)ip(h, false, &e, "link", "del", h->veth, NULL);
	}
	return r;
}

/* One address family's static address and default route (PVE's update_ipconfig): the old
 * ones go when they changed (or the NIC is new), the new ones come. */
static int
update_family(const struct hp *h, const char *dev, bool fresh, const char *family,
              const char *old_ip, const char *old_gw, const char *new_ip, const char *new_gw,
              struct error *err)
{
	bool ip_changed = fresh || str_ne(old_ip, new_ip);
	bool gw_changed = ip_changed || str_ne(old_gw, new_gw);
	struct error e = { 0 };
	if (!fresh && gw_changed && old_gw && is_static(old_ip))
		(void)ip(h, true, &e, family, "route", "del", "default", "via", old_gw, "dev", dev,
		         NULL);
	if (!fresh && ip_changed && is_static(old_ip))
		(void)ip(h, true, &e, family, "addr", "del", old_ip, "dev", dev, NULL);
	int r = 0;
	if (ip_changed && is_static(new_ip))
		r = streq(family, "-4")
		            ? ip(h, true, err, family, "addr", "add", new_ip, "brd", "+", "dev",
		                 dev, NULL)
		            : ip(h, true, err, family, "addr", "add", new_ip, "dev", dev, NULL);
	if (r >= 0 && gw_changed && new_gw && is_static(new_ip)) {
		/* a gateway outside the subnet needs a route to it first, as PVE adds */
		(void)ip(h, true, &e, family, "route", "replace", new_gw, "dev", dev, NULL);
		r = ip(h, true, err, family, "route", "replace", "default", "via", new_gw, "dev",
		       dev, NULL);
	}
	return r;
}

int
ct_net_hotplug(unsigned vmid, pid_t pid, const struct ct_net *old, const struct ct_net *now,
               ct_log_fn log, void *userdata, struct error *err)
{
	const struct ct_net *n = now ? now : old;
	if (!n)
		return 0;
	struct hp h = { .pid = pid, .log = log, .userdata = userdata };
	ct_veth_name(vmid, n->index, h.veth);
	/* a short temporary name for the CT's end until it is renamed inside */
	snprintf(h.peer, sizeof(h.peer), "bp%di%u", (int)getpid() % 1000000, n->index);
	if (!now)
		return ip(&h, false, err, "link", "del", h.veth, NULL);
	if (now->tag)
		return error_set(err, EOPNOTSUPP, "VLAN tags need 802.1q, which this host lacks");
	bool fresh = !old || str_ne(old->name, now->name) || str_ne(old->hwaddr, now->hwaddr);
	int r = 0;
	if (fresh) {
		if (old) {
			r = ip(&h, false, err, "link", "del", h.veth, NULL);
			if (r < 0)
				return r;
		}
		r = add_nic(&h, now, err);
	} else {
		if (str_ne(old->bridge, now->bridge) && old->bridge)
			r = ip(&h, false, err, "link", "set", h.veth, "nomaster", NULL);
		if (r >= 0 &&
		    (str_ne(old->bridge, now->bridge) || old->link_down != now->link_down))
			r = plug(&h, now, err);
		if (r >= 0 && old->mtu != now->mtu && now->mtu) {
			char mtu[16];
			snprintf(mtu, sizeof(mtu), "%u", now->mtu);
			r = ip(&h, false, err, "link", "set", h.veth, "mtu", mtu, NULL);
			if (r >= 0)
				r = ip(&h, true, err, "link", "set", now->name, "mtu", mtu, NULL);
		}
	}
	/* a new veth has no qdisc: nothing to clear when it has no limit */
	if (r >= 0 && (fresh ? now->rate > 0 : old->rate != now->rate))
		r = ct_net_set_rate(vmid, now, log, userdata, err);
	if (r >= 0)
		r = update_family(&h, now->name, fresh, "-4", old ? old->ip : NULL,
		                  old ? old->gw : NULL, now->ip, now->gw, err);
	if (r >= 0)
		r = update_family(&h, now->name, fresh, "-6", old ? old->ip6 : NULL,
		                  old ? old->gw6 : NULL, now->ip6, now->gw6, err);
	return r;
}

int
ct_net_set_rate(unsigned vmid, const struct ct_net *n, ct_log_fn log, void *userdata,
                struct error *err)
{
	char veth[16], line[200];
	ct_veth_name(vmid, n->index, veth);
	if (log) {
		snprintf(line, sizeof(line), "net%u: rate %g MB/s on %s", n->index, n->rate, veth);
		log(line, userdata);
	}
	int r = net_rate_limit(veth, n->rate, err);
	if (r < 0)
		return error_prefix(err, "net%u: unable to set rate %g MB/s on %s", n->index,
		                    n->rate, veth);
	if (r > 0 && log) {
		snprintf(line, sizeof(line), "net%u: rate=%g " NET_RATE_ONE_WAY, n->index, n->rate);
		log(line, userdata);
	}
	return 0;
}
