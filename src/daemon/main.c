/* berthd: the root daemon's entry point; also the entry of its helper processes
 * (--internal-proxy, --worker), which are exec'd from the same binary. */
#include "basic/log.h"
#include "proxy/proxy.h"

#include <stdio.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && streq(argv[1], "--internal-proxy")) {
		log_setup("berthd-proxy", LOG_LEVEL_INFO);
		return proxy_main(argc - 1, argv + 1);
	}
	fprintf(stderr, "berthd: the root service is not built yet\n");
	return 1;
}
