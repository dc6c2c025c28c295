/* berthd-proxy: the HTTPS proxy as its own small program, so the unprivileged,
 * internet-facing process maps no code it does not need (no PAM, no SQLite, no libuv).
 * berthd starts it; running it by hand is for debugging. */
#include "basic/log.h"
#include "proxy/proxy.h"

int
main(int argc, char **argv)
{
	log_setup("berthd-proxy", LOG_LEVEL_INFO);
	return proxy_main(argc, argv);
}
