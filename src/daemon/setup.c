/* Preparing a root directory for berthd: directories, the single-instance lock, key
 * material, and the config files a first start creates (all idempotent: a restart keeps
 * everything). */
#include "auth/keys.h"
#include "auth/usercfg.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "daemon/daemon.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <openssl/evp.h>
#include <net/if.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

static int
make_dir(const char *path, mode_t mode, struct error *err)
{
	int r = mkdir_p(path, mode);
	if (r < 0)
		return error_errno(err, r, "unable to create directory '%s'", path);
	/* an existing directory keeps its contents but gets our mode */
	if (chmod(path, mode) < 0)
		return error_errno(err, negative_errno(), "unable to set mode of '%s'", path);
	return 0;
}

/* The proxy writes uploads (unlinked temporary files) here. The proxy user is resolved
 * again in daemon_run, with the same fallback to 'nobody'. */
static int
make_upload_dir(struct daemon *d, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/upload", d->opt.root);
	int r = make_dir(path, 0700, err);
	if (r < 0)
		return r;
	struct passwd *pw = getpwnam(d->opt.proxy_user);
	if (!pw)
		pw = getpwnam("nobody");
	if (pw && chown(path, pw->pw_uid, pw->pw_gid) < 0)
		return error_errno(err, negative_errno(), "unable to set the owner of '%s'", path);
	return 0;
}

/* Write a store file only when it does not exist yet. */
static int
store_default(struct store *s, const char *path, const char *text, struct error *err)
{
	int r = store_write(s, path, text, strlen(text), "", NULL);
	if (r == -EEXIST)
		return 0;
	if (r < 0)
		return error_errno(err, r, "unable to create '%s' in the store", path);
	log_info("created %s", path);
	return 0;
}

static int
ensure_keys(struct daemon *d, struct error *err)
{
	struct store_file f = { 0 };
	int r = store_read(d->store, "priv/authkey.key", &f);
	if (r == -ENOENT) {
		_cleanup_free_ char *pem = NULL;
		r = keys_generate_rsa_pem(&pem);
		if (r < 0)
			return error_errno(err, r, "unable to generate the ticket signing key");
		r = store_default(d->store, "priv/authkey.key", pem, err);
		explicit_bzero(pem, strlen(pem));
		if (r < 0)
			return r;
		r = store_read(d->store, "priv/authkey.key", &f);
	}
	if (r < 0)
		return error_errno(err, r, "unable to read the ticket signing key");
	r = keys_load_private_pem(f.data, &d->api.authkey);
	explicit_bzero(f.data, f.len);
	store_file_done(&f);
	if (r < 0)
		return error_errno(err, r, "unable to load the ticket signing key");

	r = store_read(d->store, "priv/csrf.key", &f);
	if (r == -ENOENT) {
		_cleanup_free_ char *hex = NULL;
		r = keys_random_hex(32, &hex);
		if (r < 0)
			return error_errno(err, r, "unable to generate the CSRF secret");
		r = store_default(d->store, "priv/csrf.key", hex, err);
		if (r < 0)
			return r;
		r = store_read(d->store, "priv/csrf.key", &f);
	}
	if (r < 0)
		return error_errno(err, r, "unable to read the CSRF secret");
	size_t n = MIN(f.len, sizeof(d->api.csrf_secret));
	memcpy(d->api.csrf_secret, f.data, n);
	d->api.csrf_secret_len = n;
	explicit_bzero(f.data, f.len);
	store_file_done(&f);

	if (access(d->cert_path, F_OK) < 0 || access(d->key_path, F_OK) < 0) {
		r = keys_create_tls_selfsigned(d->opt.node, d->cert_path, d->key_path, err);
		if (r < 0)
			return error_prefix(err, "unable to create the TLS certificate");
		log_info("created self-signed TLS certificate %s", d->cert_path);
	}
	char *fp = NULL;
	if (keys_cert_fingerprint(d->cert_path, &fp) >= 0)
		d->api.ssl_fingerprint = fp;
	return 0;
}

static int
ensure_config_files(struct daemon *d, struct error *err)
{
	struct usercfg *cfg = usercfg_new();
	_cleanup_free_ char *users = usercfg_format(cfg);
	usercfg_free(cfg);
	if (!users)
		return error_set(err, EINVAL, "unable to format the default user.cfg");
	int r = store_default(d->store, "user.cfg", users, err);
	if (r < 0)
		return r;
	r = store_default(d->store, "datacenter.cfg", "keyboard: en-us\n", err);
	if (r < 0)
		return r;
	_cleanup_free_ char *local = xasprintf("%s/storage/local", d->opt.root);
	r = make_dir(local, 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *storage =
	        xasprintf("dir: local\n\tpath %s\n\tcontent iso,vztmpl,backup,images,rootdir,"
	                  "snippets\n\tshared 0\n",
	                  local);
	return store_default(d->store, "storage.cfg", storage, err);
}

int
daemon_prepare(struct daemon *d, struct error *err)
{
	const char *root = d->opt.root;
	d->run_dir = xasprintf("%s/run", root);
	d->task_dir = xasprintf("%s/tasks", root);
	d->priv_dir = xasprintf("%s/priv", root);
	d->lock_dir = xasprintf("%s/run/locks", root);
	d->db_path = xasprintf("%s/config.db", root);
	d->api_sock = xasprintf("%s/run/api.sock", root);
	d->proxy_sock = xasprintf("%s/run/proxy.sock", root);
	d->cert_path = xasprintf("%s/priv/proxy-ssl.pem", root);
	d->key_path = xasprintf("%s/priv/proxy-ssl.key", root);
	d->port_file = xasprintf("%s/run/proxy.port", root);

	int r;
	if ((r = make_dir(root, 0755, err)) < 0 || (r = make_dir(d->run_dir, 0755, err)) < 0 ||
	    (r = make_dir(d->task_dir, 0700, err)) < 0 ||
	    (r = make_dir(d->priv_dir, 0700, err)) < 0 || (r = make_upload_dir(d, err)) < 0)
		return r;

	/* one daemon per root */
	_cleanup_free_ char *lock = xasprintf("%s/berthd.lock", d->run_dir);
	d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return error_errno(err, negative_errno(), "unable to open '%s'", lock);
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return error_set(err, EBUSY, "another berthd is already running with root '%s'",
		                 root);

	r = store_open(d->db_path, d->lock_dir, &d->store, err);
	if (r < 0)
		return error_prefix(err, "unable to open the config store '%s'", d->db_path);
	r = ensure_config_files(d, err);
	if (r < 0)
		return r;
	return ensure_keys(d, err);
}

void
daemon_cleanup(struct daemon *d)
{
	char **paths[] = {
		&d->run_dir,  &d->task_dir,   &d->priv_dir,  &d->lock_dir, &d->db_path,
		&d->api_sock, &d->proxy_sock, &d->cert_path, &d->key_path, &d->port_file
	};
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		free(*paths[i]);
		*paths[i] = NULL;
	}
	free(d->proxy_exe);
	d->proxy_exe = NULL;
	EVP_PKEY_free(d->api.authkey);
	d->api.authkey = NULL;
	explicit_bzero(d->api.csrf_secret, sizeof(d->api.csrf_secret));
	free((char *)d->api.ssl_fingerprint);
	d->api.ssl_fingerprint = NULL;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
}

/* ---- welcome message ---- */

static bool
root_has_password(void)
{
	struct spwd *sp = getspnam("root");
	if (!sp || !sp->sp_pwdp)
		return false;
	const char *h = sp->sp_pwdp;
	/* empty, locked ("!...") or disabled ("*") hashes cannot be used to log in */
	return h[0] && h[0] != '!' && h[0] != '*';
}

static void
print_urls(const char *listen, FILE *out)
{
	const char *colon = strrchr(listen, ':');
	const char *port = colon ? colon + 1 : "8006";
	_cleanup_free_ char *host = xstrndup(listen, colon ? (size_t)(colon - listen) : 0);
	_cleanup_free_ char *port_text = NULL;
	if (streq(host, "0.0.0.0") || streq(host, "[::]") || !*host) {
		struct ifaddrs *ifs = NULL;
		if (getifaddrs(&ifs) == 0) {
			for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
				if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
				    (i->ifa_flags & IFF_LOOPBACK))
					continue;
				char addr[INET_ADDRSTRLEN];
				inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				          addr, sizeof(addr));
				fprintf(out, "    https://%s:%s/\n", addr, port);
			}
			freeifaddrs(ifs);
		}
		fprintf(out, "    https://localhost:%s/\n", port);
	} else {
		fprintf(out, "    https://%s:%s/\n", host, port);
	}
}

void
daemon_print_welcome(struct daemon *d)
{
	FILE *out = stderr;
	/* the CLI is built next to berthd */
	_cleanup_free_ char *bindir = xstrdup(d->exe);
	char *slash = strrchr(bindir, '/');
	if (slash)
		*slash = '\0';
	fprintf(out, "\nBerth %s is running (node '%s', state in %s).\n", BERTH_VERSION,
	        d->opt.node, d->opt.root);
	fprintf(out, "  Open the web interface or point API clients at:\n");
	print_urls(d->opt.listen, out);
	fprintf(out, "  The certificate is self-signed (SHA-256 fingerprint %s).\n",
	        d->api.ssl_fingerprint ? d->api.ssl_fingerprint : "unknown");
	if (root_has_password()) {
		fprintf(out,
		        "  Log in as user 'root', realm 'Linux PAM' (root@pam), with this host's "
		        "root password.\n");
	} else {
		fprintf(out,
		        "  root has no usable password on this host, so root@pam cannot log in.\n"
		        "  Create an administrator once (you choose the password):\n"
		        "    %s/berth --root %s admin create admin@pve\n"
		        "  or give root a password with 'passwd root'.\n",
		        bindir, d->opt.root);
	}
	fprintf(out, "  The CLI works as root on this host: %s/berth --root %s get /version\n\n",
	        bindir, d->opt.root);
}
