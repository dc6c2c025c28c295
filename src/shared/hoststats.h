/* Host figures from the kernel (/proc, statvfs, uname) for node status and resources. The
 * parsers take text and return data (unit-tested); the readers do the I/O. CPU usage is a
 * fraction between two samples, taken by the daemon every few seconds. */
#pragma once

#include "basic/macros.h"

#include <stdint.h>

struct cpu_times {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

struct meminfo {
	uint64_t total, free, available, buffers, cached; /* bytes */
	uint64_t swap_total, swap_free;
};

struct cpuinfo {
	unsigned cpus; /* logical CPUs */
	unsigned sockets;
	unsigned cores; /* physical cores over all sockets */
	char model[128];
	char mhz[32];
	bool hvm;    /* vmx or svm flag */
	char *flags; /* caller frees (cpuinfo_done) */
};

int parse_proc_stat_cpu(const char *text, struct cpu_times *ret);
int parse_meminfo(const char *text, struct meminfo *ret);
int parse_cpuinfo(const char *text, struct cpuinfo *ret);
void cpuinfo_done(struct cpuinfo *c);

struct hoststats {
	struct cpu_times last;
	bool have_last;
	double cpu;  /* busy fraction of all CPUs over the last interval */
	double wait; /* iowait fraction */
	unsigned ncpus;
};

/* Take a sample from /proc/stat and update cpu/wait. */
int hoststats_sample(struct hoststats *h);

int read_meminfo(struct meminfo *ret);
int read_cpuinfo(struct cpuinfo *ret);
/* Three load averages as text ("0.05"), as PVE reports them. */
int read_loadavg(char ret[3][16]);
int read_uptime(uint64_t *ret);

struct fs_usage {
	uint64_t total, used, free, avail; /* bytes */
};
int read_fs_usage(const char *path, struct fs_usage *ret);

/* Bytes received and sent by the physical NICs (PVE's PHYSICAL_NIC_RE: eth<n>, en*, ib*), from
 * /proc/net/dev's text: what the node's netin/netout count. */
struct net_totals {
	uint64_t in, out;
};
bool net_dev_physical(const char *name);
int parse_net_dev(const char *text, struct net_totals *ret);
int read_net_totals(struct net_totals *ret);
