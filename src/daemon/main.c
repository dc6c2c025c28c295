/* berthd: the root daemon's entry point; also the entry of its task workers (--worker),
 * which are exec'd from the same binary. The proxy is its own program, berthd-proxy. */
#include "berth-config.h"
#include "berth-version.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strbuf.h"
#include "daemon/daemon.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: berthd [OPTIONS]\n"
	        "\n"
	        "The Berth root daemon: API, config store, tasks; it starts the HTTPS proxy.\n"
	        "\n"
	        "Options:\n"
	        "  --root DIR          state directory (default /var/lib/berth)\n"
	        "  --listen ADDR:PORT  HTTPS address (default 0.0.0.0:8006; [::]:8006 for IPv6)\n"
	        "  --node NAME         node name (default: the host name)\n"
	        "  --foreground        stay in the foreground, log to stderr\n"
	        "  --www DIR           static files of the web UI (default: %s)\n"
	        "  --proxy-user USER   unprivileged user of the proxy (default berth, else "
	        "nobody)\n"
	        "  --pam-service NAME  PAM service of the pam realm (default berth)\n"
	        "  --login-delay MS    delay of failed-authentication answers (default 3000)\n"
	        "  --version           print the version\n"
	        "  --help              this text\n",
	        BERTH_DEFAULT_WWW);
}

/* "node names" follow PVE: letters, digits and inner dashes */
static bool
node_name_valid(const char *n)
{
	size_t len = strlen(n);
	if (!len || len > 63 || n[0] == '-' || n[len - 1] == '-')
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

static int
daemonize(const char *root)
{
	_cleanup_free_ char *logdir = xasprintf("%s/log", root);
	_cleanup_free_ char *logfile = xasprintf("%s/log/berthd.log", root);
	if (mkdir_p(logdir, 0700) < 0)
		return -1;
	int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	setsid();
	int null = open("/dev/null", O_RDONLY);
	dup2(null, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(null);
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && streq(argv[1], "--worker")) {
		log_setup("berthd-worker", LOG_LEVEL_INFO);
		return worker_main(argc - 1, argv + 1);
	}
	log_setup("berthd", LOG_LEVEL_INFO);

	char hostname[256] = "localhost";
	gethostname(hostname, sizeof(hostname) - 1);
	char *dot = strchr(hostname, '.');
	if (dot)
		*dot = '\0';
	struct daemon d = {
		.opt = { .root = "/var/lib/berth",
		         .listen = "0.0.0.0:8006",
		         .node = hostname,
		         .www = BERTH_DEFAULT_WWW,
		         .proxy_user = "berth",
		         .pam_service = "berth",
		         .failed_login_delay_ms = 3000,
		         .rrd_interval = 10,
		         .rrd_step = 60 },
		.lock_fd = -1,
	};

	enum {
		OPT_ROOT = 256,
		OPT_LISTEN,
		OPT_NODE,
		OPT_FG,
		OPT_WWW,
		OPT_PUSER,
		OPT_PAM,
		OPT_DELAY,
		OPT_RRD_INTERVAL,
		OPT_RRD_STEP,
		OPT_VERSION,
		OPT_HELP
	};
	static const struct option options[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "foreground", no_argument, NULL, OPT_FG },
		{ "www", required_argument, NULL, OPT_WWW },
		{ "proxy-user", required_argument, NULL, OPT_PUSER },
		{ "pam-service", required_argument, NULL, OPT_PAM },
		{ "login-delay", required_argument, NULL, OPT_DELAY },
		/* for tests, left out of --help (docs/metrics.md) */
		{ "rrd-interval", required_argument, NULL, OPT_RRD_INTERVAL },
		{ "rrd-step", required_argument, NULL, OPT_RRD_STEP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	int c;
	bool www_given = false;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			d.opt.root = optarg;
			break;
		case OPT_LISTEN:
			d.opt.listen = optarg;
			break;
		case OPT_NODE:
			d.opt.node = optarg;
			break;
		case OPT_FG:
			d.opt.foreground = true;
			break;
		case OPT_WWW:
			d.opt.www = optarg;
			www_given = true;
			break;
		case OPT_PUSER:
			d.opt.proxy_user = optarg;
			break;
		case OPT_PAM:
			d.opt.pam_service = optarg;
			break;
		case OPT_DELAY:
			d.opt.failed_login_delay_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case OPT_RRD_INTERVAL:
			d.opt.rrd_interval = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case OPT_RRD_STEP:
			d.opt.rrd_step = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case OPT_VERSION:
			printf("berthd %s (%s)\n", BERTH_VERSION, BERTH_REPOID);
			return 0;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "berthd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr,
		        "berthd: must run as root (it manages guests, storage and the network)\n");
		return 1;
	}
	if (!node_name_valid(d.opt.node)) {
		fprintf(stderr,
		        "berthd: '%s' is not a valid node name (letters, digits, '-'); "
		        "pass --node NAME\n",
		        d.opt.node);
		return 2;
	}
	/* a round at least every step, so no step goes without a sample */
	if (d.opt.rrd_step < 1 || d.opt.rrd_step > 3600 || d.opt.rrd_interval < 1 ||
	    d.opt.rrd_interval > d.opt.rrd_step) {
		fprintf(stderr, "berthd: --rrd-interval must be between 1 and --rrd-step, "
		                "--rrd-step between 1 and 3600 (seconds)\n");
		return 2;
	}
	if (d.opt.root[0] != '/') {
		fprintf(stderr, "berthd: --root must be an absolute path\n");
		return 2;
	}
	if (!www_given && access(BERTH_DEFAULT_WWW "/index.html", R_OK) < 0) {
		log_warn("the web UI is not built (%s is missing; 'make build' builds it): serving "
		         "%s instead",
		         BERTH_DEFAULT_WWW, BERTH_FALLBACK_WWW);
		d.opt.www = BERTH_FALLBACK_WWW;
	}
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "berthd: cannot find my own binary\n");
		return 1;
	}
	exe[n] = '\0';
	d.exe = exe;
	char *slash = strrchr(exe, '/');
	d.proxy_exe =
	        xasprintf("%.*s/berthd-proxy", slash ? (int)(slash - exe) : 1, slash ? exe : ".");
	if (access(d.proxy_exe, X_OK) < 0) {
		fprintf(stderr, "berthd: the proxy program %s is missing (build it with 'make')\n",
		        d.proxy_exe);
		free(d.proxy_exe);
		return 1;
	}
	/* blocking work (PAM, password hashing) must not queue behind a few slow logins */
	setenv("UV_THREADPOOL_SIZE", "8", 0);

	struct error err = { 0 };
	if (daemon_prepare(&d, &err) < 0 || daemon_resolve_proxy_user(&d, &err) < 0) {
		fprintf(stderr, "berthd: %s\n", err.msg);
		daemon_cleanup(&d);
		return 1;
	}
	if (d.opt.foreground)
		daemon_print_welcome(&d);
	else if (daemonize(d.opt.root) < 0) {
		fprintf(stderr, "berthd: unable to go to the background\n");
		return 1;
	}
	int r = daemon_run(&d, &err);
	if (r < 0)
		log_err("%s", err.msg);
	daemon_cleanup(&d);
	return r < 0 ? 1 : 0;
}
