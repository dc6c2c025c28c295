/* Host figures from the kernel (see hoststats.h). */
#include "shared/hoststats.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/statvfs.h>

int
parse_proc_stat_cpu(const char *text, struct cpu_times *ret)
{
	struct cpu_times t = { 0 };
	int n = sscanf(text,
	               "cpu %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
	               " %" SCNu64 " %" SCNu64,
	               &t.user, &t.nice, &t.system, &t.idle, &t.iowait, &t.irq, &t.softirq,
	               &t.steal);
	if (n < 4)
		return -EBADMSG;
	*ret = t;
	return 0;
}

static bool
meminfo_field(const char *text, const char *name, uint64_t *ret)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strneq(p, name, n) && p[n] == ':') {
			uint64_t kb;
			if (sscanf(p + n + 1, " %" SCNu64, &kb) != 1)
				return false;
			*ret = kb * 1024;
			return true;
		}
	}
	return false;
}

int
parse_meminfo(const char *text, struct meminfo *ret)
{
	struct meminfo m = { 0 };
	if (!meminfo_field(text, "MemTotal", &m.total) || !meminfo_field(text, "MemFree", &m.free))
		return -EBADMSG;
	if (!meminfo_field(text, "MemAvailable", &m.available))
		m.available = m.free;
	meminfo_field(text, "Buffers", &m.buffers);
	meminfo_field(text, "Cached", &m.cached);
	meminfo_field(text, "SwapTotal", &m.swap_total);
	meminfo_field(text, "SwapFree", &m.swap_free);
	*ret = m;
	return 0;
}

/* The value of "name : value" on a cpuinfo line, or NULL. */
static const char *
cpuinfo_value(const char *line, const char *name)
{
	size_t n = strlen(name);
	if (!strneq(line, name, n))
		return NULL;
	const char *p = line + n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

int
parse_cpuinfo(const char *text, struct cpuinfo *ret)
{
	struct cpuinfo c = { 0 };
	unsigned physical_ids[256];
	unsigned n_ids = 0, cores_per_socket = 0;
	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		_cleanup_free_ char *l = xstrndup(line, len);
		const char *v;
		if (cpuinfo_value(l, "processor")) {
			c.cpus++;
		} else if ((v = cpuinfo_value(l, "model name")) && !c.model[0]) {
			snprintf(c.model, sizeof(c.model), "%s", v);
		} else if ((v = cpuinfo_value(l, "cpu MHz")) && !c.mhz[0]) {
			snprintf(c.mhz, sizeof(c.mhz), "%s", v);
		} else if ((v = cpuinfo_value(l, "physical id"))) {
			unsigned id = (unsigned)strtoul(v, NULL, 10);
			bool seen = false;
			for (unsigned i = 0; i < n_ids; i++)
				seen |= physical_ids[i] == id;
			if (!seen && n_ids < ARRAY_SIZE(physical_ids))
				physical_ids[n_ids++] = id;
		} else if ((v = cpuinfo_value(l, "cpu cores"))) {
			cores_per_socket = (unsigned)strtoul(v, NULL, 10);
		} else if ((v = cpuinfo_value(l, "flags")) && !c.flags) {
			c.flags = xstrdup(v);
			_cleanup_free_ char *padded = xasprintf(" %s ", v);
			c.hvm = strstr(padded, " vmx ") || strstr(padded, " svm ");
		}
		line = eol ? eol + 1 : NULL;
	}
	if (c.cpus == 0) {
		free(c.flags);
		return -EBADMSG;
	}
	c.sockets = n_ids ? n_ids : 1;
	c.cores = cores_per_socket ? cores_per_socket * c.sockets : c.cpus;
	if (!c.flags)
		c.flags = xstrdup("");
	*ret = c;
	return 0;
}

void
cpuinfo_done(struct cpuinfo *c)
{
	free(c->flags);
	c->flags = NULL;
}

int
hoststats_sample(struct hoststats *h)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file("/proc/stat", 1 << 20, &text, NULL);
	if (r < 0)
		return r;
	struct cpu_times t;
	r = parse_proc_stat_cpu(text, &t);
	if (r < 0)
		return r;
	if (h->have_last) {
		uint64_t busy_now = t.user + t.nice + t.system + t.irq + t.softirq + t.steal;
		uint64_t busy_then = h->last.user + h->last.nice + h->last.system + h->last.irq +
		                     h->last.softirq + h->last.steal;
		uint64_t total_now = busy_now + t.idle + t.iowait;
		uint64_t total_then = busy_then + h->last.idle + h->last.iowait;
		if (total_now > total_then) {
			double dt = (double)(total_now - total_then);
			h->cpu = (double)(busy_now - busy_then) / dt;
			h->wait = (double)(t.iowait - h->last.iowait) / dt;
		}
	}
	h->last = t;
	h->have_last = true;
	return 0;
}

int
read_meminfo(struct meminfo *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file("/proc/meminfo", 1 << 20, &text, NULL);
	return r < 0 ? r : parse_meminfo(text, ret);
}

int
read_cpuinfo(struct cpuinfo *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file("/proc/cpuinfo", 16 << 20, &text, NULL);
	return r < 0 ? r : parse_cpuinfo(text, ret);
}

int
read_loadavg(char ret[3][16])
{
	_cleanup_free_ char *text = NULL;
	int r = read_file("/proc/loadavg", 4096, &text, NULL);
	if (r < 0)
		return r;
	if (sscanf(text, "%15s %15s %15s", ret[0], ret[1], ret[2]) != 3)
		return -EBADMSG;
	return 0;
}

int
read_uptime(uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file("/proc/uptime", 4096, &text, NULL);
	if (r < 0)
		return r;
	double up;
	if (sscanf(text, "%lf", &up) != 1)
		return -EBADMSG;
	*ret = (uint64_t)up;
	return 0;
}

int
read_fs_usage(const char *path, struct fs_usage *ret)
{
	struct statvfs st;
	if (statvfs(path, &st) < 0)
		return negative_errno();
	uint64_t bs = st.f_frsize ? st.f_frsize : st.f_bsize;
	ret->total = (uint64_t)st.f_blocks * bs;
	ret->free = (uint64_t)st.f_bfree * bs;
	ret->avail = (uint64_t)st.f_bavail * bs;
	ret->used = ret->total - ret->free;
	return 0;
}

bool
net_dev_physical(const char *name)
{
	if (startswith(name, "eth")) {
		name += 3;
		if (!*name)
			return false;
		for (; *name; name++)
			if (*name < '0' || *name > '9')
				return false;
		return true;
	}
	if (!startswith(name, "en") && !startswith(name, "ib"))
		return false;
	return name[2] && !strpbrk(name + 2, ":.");
}

int
parse_net_dev(const char *text, struct net_totals *ret)
{
	struct net_totals t = { 0 };
	bool any = false;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		/* "  eth0: rx_bytes rx_packets ... (8 receive fields) tx_bytes ..."; the two
		 * header lines do not match */
		char name[32];
		uint64_t rx, tx;
		if (sscanf(p + strspn(p, " "),
		           "%31[^: \n]: %" SCNu64 " %*s %*s %*s %*s %*s %*s %*s %" SCNu64, name,
		           &rx, &tx) != 3)
			continue;
		any = true;
		if (net_dev_physical(name)) {
			t.in += rx;
			t.out += tx;
		}
	}
	if (!any)
		return -EBADMSG;
	*ret = t;
	return 0;
}

int
read_net_totals(struct net_totals *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file("/proc/net/dev", 1 << 20, &text, NULL);
	return r < 0 ? r : parse_net_dev(text, ret);
}
