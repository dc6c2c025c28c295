/* Placeholder until the proxy lands (replaced by proxy.c). */
#include "proxy/proxy.h"
#include <stdio.h>
int
proxy_main(int argc, char **argv)
{
	fprintf(stderr, "berthd: proxy not built yet\n");
	return 1;
}
