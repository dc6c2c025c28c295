/* berth ct and berth vm: guests for daily work, thin over /nodes/localhost/lxc and
 * /nodes/localhost/qemu (as pct and qm are over the same API), plus the consoles, which work
 * on this host directly as pct's and qm's do: LXC's own tools for containers, the VM's serial
 * socket for VMs. */
#include "cli/cli.h"
#include "basic/fileio.h"
#include "schema/schema.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static const char *const list_columns[] = { "vmid", "status", "name", "cpus", "maxmem", NULL };

/* What differs between the two verbs. */
struct guest_kind {
	const char *verb;       /* "ct" */
	const char *api;        /* "lxc" */
	const char *word;       /* "CT", as messages name the guest */
	const char *create_arg; /* a positional argument of create ("ostemplate"), or NULL */
	const char *const *power;
	const char *const *consoles; /* commands that attach to the guest on this host */
	void (*usage)(FILE *out);
	int (*console)(struct cli *c, const char *cmd, const char *vmid);
};

static void
ct_usage(FILE *out)
{
	fprintf(out, "Usage:\n"
	             "  berth ct list                     containers on this node\n"
	             "  berth ct create VMID TEMPLATE [--key value ...]\n"
	             "                                    create from a vztmpl volume, e.g.\n"
	             "                                    local:vztmpl/busybox-...tar.zst; keys as "
	             "the API\n"
	             "                                    (--hostname, --memory, --net0, --rootfs "
	             "local:4, ...)\n"
	             "  berth ct start|stop|shutdown|reboot|suspend|resume VMID [--key value ...]\n"
	             "  berth ct status VMID              live status (status/current)\n"
	             "  berth ct config VMID              the configuration\n"
	             "  berth ct set VMID --key value ... change the configuration\n"
	             "  berth ct destroy VMID [--purge 1] [--force 1]\n"
	             "  berth ct enter VMID               a shell inside the container "
	             "(lxc-attach)\n"
	             "  berth ct console VMID             the container's console (lxc-console; "
	             "Ctrl+a q leaves)\n"
	             "Commands that start a task follow its log and fail when the task fails.\n");
}

static void
vm_usage(FILE *out)
{
	fprintf(out, "Usage:\n"
	             "  berth vm list                     virtual machines on this node\n"
	             "  berth vm create VMID [--key value ...]\n"
	             "                                    keys as the API (--name, --memory, "
	             "--cores,\n"
	             "                                    --scsi0 local:32, --ide2 "
	             "local:iso/x.iso,media=cdrom,\n"
	             "                                    --net0 virtio,bridge=vmbr0, --serial0 "
	             "socket, ...)\n"
	             "  berth vm start|stop|shutdown|reboot|reset|suspend|resume VMID [--key value "
	             "...]\n"
	             "  berth vm status VMID              live status (status/current; says KVM "
	             "or TCG)\n"
	             "  berth vm config VMID              the configuration\n"
	             "  berth vm pending VMID             current and pending values\n"
	             "  berth vm set VMID --key value ... change the configuration\n"
	             "  berth vm destroy VMID [--purge 1]\n"
	             "  berth vm console VMID             the serial console (needs serial0: "
	             "socket;\n"
	             "                                    Ctrl+O leaves)\n"
	             "  berth vm screenshot VMID FILE     the screen as a PNG image into FILE "
	             "('-': stdout)\n"
	             "Commands that start a task follow its log and fail when the task fails.\n");
}

static bool
is_help(const char *a)
{
	return streq(a, "--help") || streq(a, "-h") || streq(a, "help");
}

static bool
valid_vmid(const char *s)
{
	size_t n = strlen(s);
	return n >= 3 && n <= 9 && s[0] >= '1' && s[0] <= '9' && strspn(s, "0123456789") == n;
}

/* "--key value" pairs into an object; -1 after printing what is wrong */
static int
parse_pairs(const struct guest_kind *k, int argc, char **argv, json_t *into)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!startswith(a, "--") || !a[2]) {
			fprintf(stderr, "berth %s: expected --key value, got '%s'\n", k->verb, a);
			return -1;
		}
		const char *eq = strchr(a, '=');
		_cleanup_free_ char *key =
		        eq ? xstrndup(a + 2, (size_t)(eq - a - 2)) : xstrdup(a + 2);
		const char *value = eq ? eq + 1 : NULL;
		if (!value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "berth %s: --%s needs a value\n", k->verb, key);
				return -1;
			}
			value = argv[++i];
		}
		json_object_set_new(into, key, json_string(value));
	}
	return 0;
}

/* Call, then print data or follow the task. */
static int
call_and_show(struct cli *c, const char *method, const char *path, json_t *params,
              const char *const *columns)
{
	struct cli_response r;
	if (cli_call_ok(c, method, path, params, &r) < 0)
		return 1;
	json_t *data = json_object_get(r.body, "data");
	int ret = 0;
	if (c->format == OUTPUT_TEXT && json_is_string(data) &&
	    startswith(json_string_value(data), "UPID:")) {
		_cleanup_free_ char *upid = xstrdup(json_string_value(data));
		fprintf(stderr, "task %s\n", upid);
		ret = cli_follow_task(c, upid, true);
	} else if (!json_is_null(data)) {
		cli_print(c, data, columns);
	}
	cli_response_done(&r);
	return ret;
}

/* ---- berth vm screenshot: the Berth extension .../berth/screenshot into a file ---- */

static int
vm_screenshot(struct cli *c, const char *vmid, int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "berth vm screenshot: a FILE ('-' for stdout) is required\n");
		return 2;
	}
	_cleanup_free_ char *path = xasprintf("/nodes/localhost/qemu/%s/berth/screenshot", vmid);
	struct cli_response r;
	if (cli_call_ok(c, "GET", path, NULL, &r) < 0)
		return 1;
	int rc = 0;
	if (!r.raw) {
		fprintf(stderr, "berth vm screenshot: the answer is not an image\n");
		rc = 1;
	} else if (streq(argv[0], "-")) {
		rc = write_all(STDOUT_FILENO, r.raw, r.raw_len) < 0;
	} else {
		int q = write_file_atomic(argv[0], r.raw, r.raw_len, 0644);
		if (q < 0)
			fprintf(stderr, "berth vm screenshot: unable to write %s: %s\n", argv[0],
			        strerror(-q));
		rc = q < 0;
	}
	cli_response_done(&r);
	return rc;
}

/* enter/console: LXC's tools against this node's lxcpath, replacing this process */
static int
ct_console(struct cli *c, const char *cmd, const char *vmid)
{
	const char *tool = streq(cmd, "enter") ? "lxc-attach" : "lxc-console";
	_cleanup_free_ char *lxcpath = xasprintf("%s/lxc", c->root);
	if (streq(tool, "lxc-attach")) {
		/* PVE's pct enter: a login-like shell with a clean environment */
		execlp("lxc-attach", "lxc-attach", "-n", vmid, "-P", lxcpath, "--clear-env",
		       "--keep-var", "TERM", "--", "/bin/sh", "-l", (char *)NULL);
	} else {
		execlp("lxc-console", "lxc-console", "-n", vmid, "-P", lxcpath, "-t", "0",
		       (char *)NULL);
	}
	fprintf(stderr, "berth ct: unable to run %s: %s (is the lxc package installed?)\n", tool,
	        strerror(errno));
	return 1;
}

static int
guest_cmd(const struct guest_kind *k, struct cli *c, int argc, char **argv)
{
	if (argc < 1 || is_help(argv[0])) {
		k->usage(argc < 1 ? stderr : stdout);
		return argc < 1 ? 2 : 0;
	}
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
			k->usage(stdout);
			return 0;
		}
	const char *cmd = argv[0];
	if (streq(cmd, "list")) {
		if (argc > 1) {
			k->usage(stderr);
			return 2;
		}
		_cleanup_free_ char *path = xasprintf("/nodes/localhost/%s", k->api);
		return call_and_show(c, "GET", path, NULL, list_columns);
	}
	if (argc < 2 || !valid_vmid(argv[1])) {
		fprintf(stderr, "berth %s %s: a VMID (100-999999999) is required\n", k->verb, cmd);
		k->usage(stderr);
		return 2;
	}
	const char *vmid = argv[1];
	if (streq(cmd, "screenshot") && streq(k->verb, "vm"))
		return vm_screenshot(c, vmid, argc - 2, argv + 2);
	json_t *params = json_object();
	int first = 2;
	if (streq(cmd, "create")) {
		json_object_set_new(params, "vmid", json_string(vmid));
		if (k->create_arg) {
			if (argc < 3 || startswith(argv[2], "--")) {
				json_decref(params);
				fprintf(stderr, "berth %s create: a TEMPLATE volume is required\n",
				        k->verb);
				return 2;
			}
			json_object_set_new(params, k->create_arg, json_string(argv[2]));
			first = 3;
		}
	}
	if (parse_pairs(k, argc - first, argv + first, params) < 0) {
		json_decref(params);
		return 2;
	}
	_cleanup_free_ char *base = xasprintf("/nodes/localhost/%s/%s", k->api, vmid);
	for (const char *const *p = k->power; *p; p++)
		if (streq(cmd, *p)) {
			_cleanup_free_ char *path = xasprintf("%s/status/%s", base, cmd);
			return call_and_show(c, "POST", path, params, NULL);
		}
	if (streq(cmd, "create")) {
		_cleanup_free_ char *path = xasprintf("/nodes/localhost/%s", k->api);
		return call_and_show(c, "POST", path, params, NULL);
	}
	if (streq(cmd, "status")) {
		_cleanup_free_ char *path = xasprintf("%s/status/current", base);
		return call_and_show(c, "GET", path, params, NULL);
	}
	if (streq(cmd, "config") || streq(cmd, "pending")) {
		if (streq(cmd, "pending") && streq(k->verb, "ct")) {
			json_decref(params);
			fprintf(stderr, "berth ct: unknown command 'pending'\n");
			return 2;
		}
		_cleanup_free_ char *path = xasprintf("%s/%s", base, cmd);
		return call_and_show(c, "GET", path, params, NULL);
	}
	if (streq(cmd, "set")) {
		_cleanup_free_ char *path = xasprintf("%s/config", base);
		return call_and_show(c, "PUT", path, params, NULL);
	}
	if (streq(cmd, "destroy"))
		return call_and_show(c, "DELETE", base, params, NULL);
	json_decref(params);
	if (strv_contains(k->consoles, cmd)) {
		if (argc > 2) {
			k->usage(stderr);
			return 2;
		}
		/* the same check pct does: the CT must exist and run */
		struct cli_response r;
		_cleanup_free_ char *path = xasprintf("%s/status/current", base);
		if (cli_call_ok(c, "GET", path, NULL, &r) < 0)
			return 1;
		const char *st = json_string_value(
		        json_object_get(json_object_get(r.body, "data"), "status"));
		bool running = st && streq(st, "running");
		cli_response_done(&r);
		if (!running) {
			fprintf(stderr, "%s %s not running\n", k->word, vmid);
			return 1;
		}
		return k->console(c, cmd, vmid);
	}
	fprintf(stderr, "berth %s: unknown command '%s'\n", k->verb, cmd);
	k->usage(stderr);
	return 2;
}

/* ---- the VM serial console: this host's end of <run>/qemu/<vmid>.serial0 ---- */

#define CONSOLE_ESCAPE 0x0f /* Ctrl+O, as qm terminal */

static int
vm_console(struct cli *c, const char *cmd, const char *vmid)
{
	(void)cmd;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/run/qemu/%s.serial0", c->root, vmid);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		fprintf(stderr, "berth vm console: socket path too long\n");
		return 1;
	}
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr,
		        "berth vm console: unable to connect to %s: %s (does the VM have "
		        "'serial0: socket'? berth vm set %s --serial0 socket, then restart it)\n",
		        sa.sun_path, strerror(errno), vmid);
		return 1;
	}
	bool tty = isatty(STDIN_FILENO);
	struct termios saved, raw;
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "berth: VM %s serial console; Ctrl+O leaves\r\n", vmid);
	} else {
		tty = false;
	}
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
		               { .fd = fd, .events = POLLIN } };
	int ret = 0;
	bool in_open = true;
	for (;;) {
		p[0].fd = in_open ? STDIN_FILENO : -1;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = 1;
			break;
		}
		char buf[4096];
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r <= 0)
				break; /* QEMU went away */
			if (write_all(STDOUT_FILENO, buf, (size_t)r) < 0)
				break;
		}
		if (in_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
			if (r <= 0) {
				/* end of input (a pipe): keep showing output until the guest is
				 * quiet for a moment */
				in_open = false;
				struct pollfd q = { .fd = fd, .events = POLLIN };
				while (poll(&q, 1, 1000) > 0) {
					ssize_t m = read(fd, buf, sizeof(buf));
					if (m <= 0 || write_all(STDOUT_FILENO, buf, (size_t)m) < 0)
						break;
				}
				break;
			}
			char *esc = memchr(buf, CONSOLE_ESCAPE, (size_t)r);
			size_t len = esc ? (size_t)(esc - buf) : (size_t)r;
			if (len && write_all(fd, buf, len) < 0)
				break;
			if (esc)
				break;
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\r\n");
	}
	return ret;
}

static const char *const ct_power[] = { "start",   "stop",   "shutdown", "reboot",
	                                "suspend", "resume", NULL };
static const char *const vm_power[] = { "start", "stop",    "shutdown", "reboot",
	                                "reset", "suspend", "resume",   NULL };
static const char *const ct_consoles[] = { "enter", "console", NULL };
static const char *const vm_consoles[] = { "console", NULL };

static const struct guest_kind ct_kind = {
	.verb = "ct",
	.api = "lxc",
	.word = "CT",
	.create_arg = "ostemplate",
	.power = ct_power,
	.consoles = ct_consoles,
	.usage = ct_usage,
	.console = ct_console,
};

static const struct guest_kind vm_kind = {
	.verb = "vm",
	.api = "qemu",
	.word = "VM",
	.power = vm_power,
	.consoles = vm_consoles,
	.usage = vm_usage,
	.console = vm_console,
};

int
cmd_ct(struct cli *c, int argc, char **argv)
{
	return guest_cmd(&ct_kind, c, argc, argv);
}

int
cmd_vm(struct cli *c, int argc, char **argv)
{
	return guest_cmd(&vm_kind, c, argc, argv);
}
