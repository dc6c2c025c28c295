/* Container templates Berth builds itself: the catalog (what GET /nodes/{node}/aplinfo lists,
 * with the fields of Proxmox VE's aplinfo entries) and the builders that turn a recipe into a
 * root filesystem tarball in a storage's vztmpl content.
 *
 * The catalog is resolved on the running host: an entry is listed only when its tool is
 * installed (/bin/busybox from busybox-static, debootstrap), and busybox's version is read
 * from that binary's banner at run time, so the template's name always says what is in it.
 *
 * Builders run in a task worker: they log through the hooks and stop when the hooks say the
 * task was interrupted. A build works in a temporary directory next to the target file (one
 * filesystem, so the final rename is atomic) and removes it on any failure. */
#pragma once

#include "basic/error.h"

#include <jansson.h>
#include <stddef.h>

struct template_hooks {
	/* one line of progress (no newline) */
	void (*log)(void *userdata, const char *line);
	/* true once the build should stop (a task stop request) */
	bool (*interrupted)(void *userdata);
	void *userdata;
};

struct template_recipe;

/* One catalog entry, resolved on this host. Field names are PVE's aplinfo keys. */
struct template_info {
	const struct template_recipe *recipe;
	const char *name; /* short name: "busybox", "debian-12" */
	char *template;   /* the file name: "busybox-1.35.0-berth1_amd64.tar.zst" */
	char *version;    /* "1.35.0-berth1" */
	char *source;     /* where the contents come from */
	char *location;   /* what the builder reads: a file:// or http(s):// URL */
	const char *package, *os, *section, *type, *headline, *description, *maintainer, *infopage,
	        *architecture;
};

/* Debian's architecture name of this build ("amd64", "arm64", ...). */
const char *template_arch(void);

/* The entries this host can build (possibly none). Caller frees with template_catalog_free. */
int template_catalog(struct template_info **ret, size_t *ret_n, struct error *err);
void template_catalog_free(struct template_info *list, size_t n);
/* Find an entry by its file name ("busybox-1.35.0-berth1_amd64.tar.zst") or short name
 * ("busybox"); NULL when none matches. */
const struct template_info *template_catalog_find(const struct template_info *list, size_t n,
                                                  const char *name);
/* The entry as PVE's aplinfo object {template, package, version, os, section, type, ...}. */
json_t *template_info_json(const struct template_info *t);

/* Build t into the file `target` (an absolute path inside a storage's template/cache
 * directory, which is created if missing). An existing file is replaced atomically. On
 * failure or interruption (-EINTR, "received interrupt") nothing is left behind. */
int template_build(const struct template_info *t, const char *target,
                   const struct template_hooks *h, struct error *err);

/* ---- pure parts (exposed for unit tests) ---- */

/* The version in a busybox binary's banner ("BusyBox v1.35.0 (Debian ...)"): "1.35.0".
 * -ENOENT when data holds no banner. */
int template_busybox_version(const char *data, size_t len, char **ret);

/* Debian mirrors from apt sources. */
struct apt_mirrors {
	char *debian;   /* "http://deb.debian.org/debian" (no trailing '/') */
	char *security; /* "http://deb.debian.org/debian-security", or NULL when none found */
};
void apt_mirrors_done(struct apt_mirrors *m);
/* Scan one sources file (one-line "deb ..." format, or deb822 when deb822 is true) for
 * entries of type deb: the first whose suites include `suite` becomes m->debian (unless
 * already set), the first with "<suite>-security" m->security. Disabled entries
 * ("Enabled: no") and non-http(s)/file URIs are ignored. */
void apt_mirrors_scan(const char *text, bool deb822, const char *suite, struct apt_mirrors *m);
/* Read /etc/apt/sources.list and the *.list and *.sources files of sources.list.d under
 * root ("/" normally); debian falls back to http://deb.debian.org/debian. */
void apt_mirrors_find(const char *root, const char *suite, struct apt_mirrors *m);
