/* A guest NIC's `rate` (MB/s) on its host end, a VM's tap or a CT's veth, as PVE's
 * setup_tc_rate_limit does it with tc: an htb class on the device's root (traffic to the
 * guest) and an ingress policer (traffic from it). */
#pragma once

#include "basic/error.h"

/* Replace the limit on ifname; rate_mbs <= 0 removes it. 0, 1 when only the traffic to the
 * guest is limited (the kernel has no police action for the ingress side), or -errno. */
int net_rate_limit(const char *ifname, double rate_mbs, struct error *err);
/* What the task log says after a 1, behind "net<N>: rate=<MB/s> ". */
#define NET_RATE_ONE_WAY                                                                           \
	"limits only the traffic to the guest: this kernel has no tc police action for the "       \
	"traffic from it"
