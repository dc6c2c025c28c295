/* berthd-lxc-start LXCPATH NAME: start a container under liblxc, daemonized, and exit 0 once
 * it runs. The start worker execs this small program (it maps liblxc and libc only) after
 * preparing the mount namespace, so liblxc's monitor — a fork of this process that lives as
 * long as the container — carries none of the worker's memory (SQLite cache, OpenSSL, the
 * task's JSON): measured, the monitor's private memory went from 1.5 MiB to the size of
 * lxc-start's own. */
#include <lxc/lxccontainer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc != 3 || argv[1][0] != '/') {
		fprintf(stderr, "usage: berthd-lxc-start LXCPATH NAME\n");
		return 2;
	}
	struct lxc_container *c = lxc_container_new(argv[2], argv[1]);
	if (!c) {
		fprintf(stderr, "unable to open container %s\n", argv[2]);
		return 1;
	}
	/* liblxc maps the CT's ids through the setuid newuidmap/newgidmap (each behind a
	 * `sh -c`) whenever it finds them on PATH; as root it writes uid_map and gid_map itself,
	 * four execs fewer per start. Nothing else liblxc runs for our configs needs PATH (no
	 * hooks), and the CT's init gets liblxc's own environment, not ours. */
	unsetenv("PATH");
	c->want_daemonize(c, true);
	/* the monitor keeps no descriptor of ours (the task log is our stderr) */
	c->want_close_all_fds(c, true);
	bool ok = c->start(c, 0, NULL);
	if (ok && !c->is_running(c))
		ok = c->wait(c, "RUNNING", 10);
	lxc_container_put(c);
	return ok ? 0 : 1;
}
