/* Guest config files in Proxmox VE's text format (see guestconf.h). */
#include "guest/guestconf.h"
#include "basic/encoding.h"
#include "basic/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* PVE keeps these apart (as `env`) and writes them before the other raw lines */
#define LXC_ENV_KEY "lxc.environment.runtime"

/* how much of an offending line or key an error message quotes */
#define MSG_QUOTE_MAX 80

/* Perl's \s */
static bool
is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* Length of the prefix matching ^[a-z][a-z_]*\d* (with `dash`: ^[a-z][a-z_-]*\d*), 0 if none. */
static size_t
key_span(const char *s, bool dash)
{
	if (!is_lower(s[0]))
		return 0;
	size_t i = 1;
	while (is_lower(s[i]) || s[i] == '_' || (dash && s[i] == '-'))
		i++;
	while (is_digit(s[i]))
		i++;
	return i;
}

static bool
key_valid(const char *key, bool dash)
{
	size_t n = key_span(key, dash);
	return n > 0 && key[n] == '\0';
}

/* Length of the prefix matching ^lxc\.[a-z0-9_\-.]+, 0 if none. */
static size_t
raw_key_span(const char *s)
{
	if (!startswith(s, "lxc."))
		return 0;
	size_t i = 4;
	while (is_lower(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.')
		i++;
	return i > 4 ? i : 0;
}

static bool
raw_key_valid(const char *key)
{
	size_t n = raw_key_span(key);
	return n > 0 && key[n] == '\0';
}

/* ^[a-z][a-z0-9_\-]*$, case-insensitive */
static bool
section_name_valid(const char *name)
{
	if (!is_alpha(name[0]))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!is_alpha(*p) && !is_digit(*p) && *p != '_' && *p != '-')
			return false;
	return true;
}

/* PVE's snapshot section names: at least two characters */
static bool
snapname_valid(const char *name)
{
	return section_name_valid(name) && name[1];
}

/* [special:<name>]: PVE knows cloudinit and fleecing; any name of that shape is kept. */
static bool
specialname_valid(const char *name)
{
	return section_name_valid(name);
}

static bool
is_blank(const char *s)
{
	for (; *s; s++)
		if (!is_space(*s))
			return false;
	return true;
}

/* Skip leading and cut trailing whitespace, in place. */
static char *
trim(char *s)
{
	while (is_space(*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		*--e = '\0';
	return s;
}

/* A piece of untrusted text fit for an error message (which ends up in an HTTP status line):
 * control bytes become '?', long text is cut with "...". */
static const char *
quote(const char *s, char buf[static MSG_QUOTE_MAX + 4])
{
	size_t i = 0;
	for (; s[i] && i < MSG_QUOTE_MAX; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* --- sections --- */

static void
items_free(struct guestconf_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].key);
		free(items[i].value);
	}
	free(items);
}

static void
items_append(struct guestconf_item **items, size_t *n, const char *key, const char *value)
{
	*items = xrealloc(*items, (*n + 1) * sizeof(**items));
	(*items)[*n] = (struct guestconf_item){ xstrdup(key), xstrdup(value) };
	(*n)++;
}

static struct guestconf_item *
items_dup(const struct guestconf_item *items, size_t n)
{
	if (n == 0)
		return NULL;
	struct guestconf_item *copy = xcalloc(n, sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		copy[i] = (struct guestconf_item){ xstrdup(items[i].key), xstrdup(items[i].value) };
	return copy;
}

static void
section_clear(struct guestconf_section *s)
{
	free(s->name);
	free(s->description);
	items_free(s->items, s->n_items);
	items_free(s->raw, s->n_raw);
	*s = (struct guestconf_section){ .kind = s->kind };
}

static void
section_copy(struct guestconf_section *dst, const struct guestconf_section *src)
{
	*dst = (struct guestconf_section){
		.kind = src->kind,
		.name = src->name ? xstrdup(src->name) : NULL,
		.description = src->description ? xstrdup(src->description) : NULL,
		.items = items_dup(src->items, src->n_items),
		.n_items = src->n_items,
		.raw = items_dup(src->raw, src->n_raw),
		.n_raw = src->n_raw,
	};
}

static bool
section_is_empty(const struct guestconf_section *s)
{
	return s->n_items == 0 && s->n_raw == 0 && !s->description;
}

static struct guestconf_item *
section_find(const struct guestconf_section *s, const char *key)
{
	for (size_t i = 0; i < s->n_items; i++)
		if (streq(s->items[i].key, key))
			return &s->items[i];
	return NULL;
}

/* Set without checks: a repeated key keeps its place and takes the new value. */
static void
section_put(struct guestconf_section *s, const char *key, const char *value)
{
	struct guestconf_item *it = section_find(s, key);
	if (it) {
		free(it->value);
		it->value = xstrdup(value);
	} else {
		items_append(&s->items, &s->n_items, key, value);
	}
}

/* PVE writes lxc.environment.runtime lines first; keep that order in memory too, so
 * parse(format(x)) == x. Stable. */
static void
raw_env_first(struct guestconf_section *s)
{
	size_t n_env = 0;
	for (size_t i = 0; i < s->n_raw; i++) {
		if (!streq(s->raw[i].key, LXC_ENV_KEY))
			continue;
		struct guestconf_item env = s->raw[i];
		memmove(&s->raw[n_env + 1], &s->raw[n_env], (i - n_env) * sizeof(env));
		s->raw[n_env++] = env;
	}
}

/* --- parsing --- */

struct parser {
	struct guestconf *conf;
	struct guestconf_section *cur;
	struct strbuf descr;
	bool have_descr;
	const char *what;
	size_t lineno;
	struct error *err;
};

static int parse_error(struct parser *p, const char *fmt, ...) _printf_(2, 3);

static int
parse_error(struct parser *p, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_set(p->err, EINVAL, "%s:%zu: %s", p->what ? p->what : "config", p->lineno,
	                 msg);
}

static int
line_error(struct parser *p, const char *line)
{
	char q[MSG_QUOTE_MAX + 4];
	return parse_error(p, "unable to parse config line: %s", quote(line, q));
}

/* PVE joins '#' lines with "\n"; on write it splits on "\n" (dropping trailing empty lines),
 * QEMU also strips trailing whitespace on read. Normalise so that the text survives a round
 * trip unchanged. */
static void
finish_section(struct parser *p)
{
	struct guestconf_section *s = p->cur;
	if (p->have_descr) {
		_cleanup_free_ char *d = sb_steal(&p->descr);
		size_t len = strlen(d);
		if (p->conf->kind == GUESTCONF_QEMU)
			while (len > 0 && is_space(d[len - 1]))
				len--;
		else
			while (len > 0 && d[len - 1] == '\n')
				len--;
		d[len] = '\0';
		free(s->description);
		s->description = NULL;
		/* only QEMU's pending section writes (and so keeps) an empty description */
		if (len > 0 ||
		    (p->conf->kind == GUESTCONF_QEMU && s->kind == GUESTCONF_SECTION_PENDING))
			s->description = TAKE_PTR(d);
	}
	sb_reset(&p->descr);
	p->have_descr = false;
	raw_env_first(s);
}

static struct guestconf_section *
find_named(struct guestconf_section *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name && strcasecmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static struct guestconf_section *
append_named(struct guestconf_section **v, size_t *n, enum guestconf_section_kind kind,
             const char *name)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = (struct guestconf_section){ .kind = kind, .name = xstrdup(name) };
	return &(*v)[(*n)++];
}

/* A line "[...]" with only whitespace after the first ']'. Returns 1 when it opened a section,
 * 0 when it is no section header (the caller goes on with the other line forms), or -EINVAL. */
static int
parse_header(struct parser *p, char *line)
{
	char *close = strchr(line, ']');
	if (line[0] != '[' || !close || !is_blank(close + 1))
		return 0;
	*close = '\0';
	const char *name = line + 1;
	struct guestconf *c = p->conf;
	bool qemu = c->kind == GUESTCONF_QEMU;
	char q[MSG_QUOTE_MAX + 4];

	if (strcasecmp(name, qemu ? "PENDING" : "pve:pending") == 0) {
		if (c->pending)
			return parse_error(p, "duplicate section: pending");
		finish_section(p);
		c->pending = xcalloc(1, sizeof(*c->pending));
		c->pending->kind = GUESTCONF_SECTION_PENDING;
		p->cur = c->pending;
		return 1;
	}
	if (qemu && strncasecmp(name, "special:", 8) == 0 && specialname_valid(name + 8)) {
		if (find_named(c->specials, c->n_specials, name + 8))
			return parse_error(p, "duplicate special section: %s", name + 8);
		finish_section(p);
		p->cur = append_named(&c->specials, &c->n_specials, GUESTCONF_SECTION_SPECIAL,
		                      name + 8);
		return 1;
	}
	if (snapname_valid(name)) {
		if (find_named(c->snapshots, c->n_snapshots, name))
			return parse_error(p, "duplicate snapshot section: %s", name);
		finish_section(p);
		p->cur = append_named(&c->snapshots, &c->n_snapshots, GUESTCONF_SECTION_SNAPSHOT,
		                      name);
		return 1;
	}
	if (qemu)
		return parse_error(p, "unknown section: '%s'", quote(name, q));
	*close = ']';
	return 0;
}

static void
append_description(struct parser *p, const char *encoded, bool newline)
{
	_cleanup_free_ char *d = text_decode(encoded, NULL);
	sb_puts(&p->descr, d);
	if (newline)
		sb_putc(&p->descr, '\n');
	p->have_descr = true;
}

/* lxc.<key>: <value> or lxc.<key> = <value>; returns false if the line is not of that form. */
static bool
parse_raw(struct parser *p, char *line)
{
	size_t n = raw_key_span(line);
	if (n == 0)
		return false;
	char *rest = line + n;
	while (*rest != ':' && is_space(*rest))
		rest++;
	if (*rest != ':' && *rest != '=')
		return false;
	if (*rest == ':' && rest != line + n)
		return false; /* "lxc.x :" is neither form */
	line[n] = '\0';
	const char *value = trim(rest + 1);
	items_append(&p->cur->raw, &p->cur->n_raw, line, value);
	return true;
}

static int
parse_line(struct parser *p, char *line)
{
	bool qemu = p->conf->kind == GUESTCONF_QEMU;

	if (line[0] == '[') {
		int r = parse_header(p, line);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (line[0] == '#') {
		append_description(p, line + 1, true);
		return 0;
	}
	if (!qemu && parse_raw(p, line))
		return 0;

	size_t n = key_span(line, qemu);
	if (n == 0 || line[n] != ':')
		return line_error(p, line);
	const char *value = trim(line + n + 1);
	if (!*value)
		return line_error(p, line);
	line[n] = '\0';
	if (streq(line, "description")) {
		append_description(p, value, false);
		return 0;
	}
	if (streq(line, "delete") && p->cur->kind != GUESTCONF_SECTION_PENDING)
		return parse_error(p, "property 'delete' is only allowed in %s",
		                   qemu ? "[PENDING]" : "[pve:pending]");
	section_put(p->cur, line, value);
	return 0;
}

int
guestconf_parse(enum guestconf_kind kind, const char *text, const char *what,
                struct guestconf **ret, struct error *err)
{
	_cleanup_(guestconf_freep) struct guestconf *c = guestconf_new(kind);
	struct parser p = { .conf = c, .cur = &c->main, .what = what, .err = err };

	for (const char *s = text; s && *s;) {
		const char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);
		_cleanup_free_ char *line = xstrndup(s, len);
		s = eol ? eol + 1 : NULL;
		p.lineno++;
		if (is_blank(line))
			continue;
		int r = parse_line(&p, line);
		if (r < 0) {
			sb_free(&p.descr);
			return r;
		}
	}
	finish_section(&p);
	sb_free(&p.descr);
	/* PVE writes no header for an empty pending section */
	guestconf_prune_pending(c);
	*ret = TAKE_PTR(c);
	return 0;
}

/* --- formatting --- */

static int
cmp_item(const void *a, const void *b)
{
	const struct guestconf_item *x = *(const struct guestconf_item *const *)a;
	const struct guestconf_item *y = *(const struct guestconf_item *const *)b;
	return strcmp(x->key, y->key);
}

static int
cmp_section(const void *a, const void *b)
{
	const struct guestconf_section *x = *(const struct guestconf_section *const *)a;
	const struct guestconf_section *y = *(const struct guestconf_section *const *)b;
	return strcmp(x->name, y->name);
}

static int
check_value(const char *key, const char *value, bool may_be_empty, struct error *err)
{
	char q[MSG_QUOTE_MAX + 4];
	if (has_crlf(value))
		return error_set(err, EINVAL, "detected invalid newline inside property '%s'",
		                 quote(key, q));
	if (!may_be_empty && is_blank(value))
		return error_set(err, EINVAL, "property '%s' has an empty value", quote(key, q));
	return 0;
}

static void
format_description(const struct guestconf *c, const struct guestconf_section *s, struct strbuf *out)
{
	const char *d = s->description;
	if (!d)
		return;
	/* Perl's split(/\n/): trailing empty lines vanish */
	size_t len = strlen(d);
	while (len > 0 && d[len - 1] == '\n')
		len--;
	if (len == 0) {
		/* QEMU marks a pending change to an empty description with a bare '#' */
		if (c->kind == GUESTCONF_QEMU && s->kind == GUESTCONF_SECTION_PENDING && !*d)
			sb_puts(out, "#\n");
		return;
	}
	for (const char *p = d; p < d + len;) {
		size_t n = strcspn(p, "\n");
		_cleanup_free_ char *line = xstrndup(p, n);
		_cleanup_free_ char *enc = text_encode(line);
		sb_printf(out, "#%s\n", enc);
		p += n + 1;
	}
}

static int
format_items(const struct guestconf *c, const struct guestconf_section *s, struct strbuf *out,
             struct error *err)
{
	bool qemu = c->kind == GUESTCONF_QEMU;
	char q[MSG_QUOTE_MAX + 4];
	_cleanup_free_ const struct guestconf_item **sorted =
	        xcalloc(s->n_items + 1, sizeof(*sorted));
	for (size_t i = 0; i < s->n_items; i++) {
		const struct guestconf_item *it = &s->items[i];
		if (!key_valid(it->key, qemu) || streq(it->key, "description"))
			return error_set(err, EINVAL, "invalid key '%s'", quote(it->key, q));
		if (streq(it->key, "delete") && s->kind != GUESTCONF_SECTION_PENDING)
			return error_set(err, EINVAL, "property 'delete' is only allowed in %s",
			                 qemu ? "[PENDING]" : "[pve:pending]");
		int r = check_value(it->key, it->value, false, err);
		if (r < 0)
			return r;
		sorted[i] = it;
	}
	qsort(sorted, s->n_items, sizeof(*sorted), cmp_item);
	for (size_t i = 0; i < s->n_items; i++)
		sb_printf(out, "%s: %s\n", sorted[i]->key, sorted[i]->value);
	return 0;
}

static int
format_raw(const struct guestconf *c, const struct guestconf_section *s, struct strbuf *out,
           struct error *err)
{
	char q[MSG_QUOTE_MAX + 4];
	if (s->n_raw > 0 && c->kind != GUESTCONF_LXC)
		return error_set(err, EINVAL,
		                 "raw lxc.* lines are only allowed in container configs");
	for (size_t i = 0; i < s->n_raw; i++) {
		if (!raw_key_valid(s->raw[i].key))
			return error_set(err, EINVAL, "invalid key '%s'", quote(s->raw[i].key, q));
		int r = check_value(s->raw[i].key, s->raw[i].value, true, err);
		if (r < 0)
			return r;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->n_raw; i++)
			if (streq(s->raw[i].key, LXC_ENV_KEY) == (pass == 0))
				sb_printf(out, "%s: %s\n", s->raw[i].key, s->raw[i].value);
	return 0;
}

static int
format_section(const struct guestconf *c, const struct guestconf_section *s, struct strbuf *out,
               struct error *err)
{
	format_description(c, s, out);
	int r = format_items(c, s, out, err);
	if (r < 0)
		return r;
	return format_raw(c, s, out, err);
}

/* Named sections sorted bytewise by name, each after a blank line and its header. */
static int
format_named(const struct guestconf *c, const struct guestconf_section *v, size_t n, bool special,
             struct strbuf *out, struct error *err)
{
	char q[MSG_QUOTE_MAX + 4];
	_cleanup_free_ const struct guestconf_section **sorted = xcalloc(n + 1, sizeof(*sorted));
	for (size_t i = 0; i < n; i++) {
		const char *name = v[i].name;
		bool ok = name && (special ? specialname_valid(name) : snapname_valid(name));
		/* QEMU would read a snapshot called "pending" as the pending section */
		if (ok && !special && c->kind == GUESTCONF_QEMU && strcasecmp(name, "pending") == 0)
			ok = false;
		if (!ok)
			return error_set(err, EINVAL, "invalid %s name '%s'",
			                 special ? "special section" : "snapshot",
			                 name ? quote(name, q) : "");
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(v[j].name, name) == 0)
				return error_set(err, EINVAL, "duplicate %s section: %s",
				                 special ? "special" : "snapshot", quote(name, q));
		sorted[i] = &v[i];
	}
	qsort(sorted, n, sizeof(*sorted), cmp_section);
	for (size_t i = 0; i < n; i++) {
		sb_printf(out, "\n[%s%s]\n", special ? "special:" : "", sorted[i]->name);
		int r = format_section(c, sorted[i], out, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int
guestconf_format(const struct guestconf *c, char **ret, struct error *err)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	int r = format_section(c, &c->main, &out, err);
	if (r < 0)
		return r;
	if (c->pending && !section_is_empty(c->pending)) {
		sb_puts(&out, c->kind == GUESTCONF_QEMU ? "\n[PENDING]\n" : "\n[pve:pending]\n");
		r = format_section(c, c->pending, &out, err);
		if (r < 0)
			return r;
	}
	if (c->n_specials > 0 && c->kind != GUESTCONF_QEMU)
		return error_set(err, EINVAL, "special sections are only allowed in VM configs");
	r = format_named(c, c->specials, c->n_specials, true, &out, err);
	if (r < 0)
		return r;
	r = format_named(c, c->snapshots, c->n_snapshots, false, &out, err);
	if (r < 0)
		return r;
	*ret = sb_steal(&out);
	return 0;
}

/* --- construction --- */

struct guestconf *
guestconf_new(enum guestconf_kind kind)
{
	struct guestconf *c = xcalloc(1, sizeof(*c));
	c->kind = kind;
	c->main.kind = GUESTCONF_SECTION_MAIN;
	return c;
}

void
guestconf_free(struct guestconf *c)
{
	if (!c)
		return;
	section_clear(&c->main);
	if (c->pending) {
		section_clear(c->pending);
		free(c->pending);
	}
	for (size_t i = 0; i < c->n_snapshots; i++)
		section_clear(&c->snapshots[i]);
	free(c->snapshots);
	for (size_t i = 0; i < c->n_specials; i++)
		section_clear(&c->specials[i]);
	free(c->specials);
	free(c);
}

static struct guestconf_section *
sections_dup(const struct guestconf_section *v, size_t n)
{
	if (n == 0)
		return NULL;
	struct guestconf_section *copy = xcalloc(n, sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		section_copy(&copy[i], &v[i]);
	return copy;
}

struct guestconf *
guestconf_dup(const struct guestconf *c)
{
	struct guestconf *d = guestconf_new(c->kind);
	section_copy(&d->main, &c->main);
	if (c->pending) {
		d->pending = xcalloc(1, sizeof(*d->pending));
		section_copy(d->pending, c->pending);
	}
	d->snapshots = sections_dup(c->snapshots, c->n_snapshots);
	d->n_snapshots = c->n_snapshots;
	d->specials = sections_dup(c->specials, c->n_specials);
	d->n_specials = c->n_specials;
	return d;
}

/* --- items --- */

const char *
guestconf_get(const struct guestconf_section *s, const char *key)
{
	const struct guestconf_item *it = section_find(s, key);
	return it ? it->value : NULL;
}

int
guestconf_set(struct guestconf_section *s, const char *key, const char *value)
{
	/* the section does not know its kind: QEMU's key set is the wider one, and format
	 * checks the kind's own */
	if (!key_valid(key, true) || streq(key, "description"))
		return -EINVAL;
	if (streq(key, "delete") && s->kind != GUESTCONF_SECTION_PENDING)
		return -EINVAL;
	if (has_crlf(value) || is_blank(value))
		return -EINVAL;
	section_put(s, key, value);
	return 0;
}

int
guestconf_unset(struct guestconf_section *s, const char *key)
{
	struct guestconf_item *it = section_find(s, key);
	if (!it)
		return -ENOENT;
	free(it->key);
	free(it->value);
	size_t i = (size_t)(it - s->items);
	memmove(it, it + 1, (s->n_items - i - 1) * sizeof(*it));
	s->n_items--;
	return 0;
}

int
guestconf_set_description(struct guestconf_section *s, const char *text)
{
	free(s->description);
	s->description = text ? xstrdup(text) : NULL;
	return 0;
}

int
guestconf_add_raw(struct guestconf_section *s, const char *key, const char *value)
{
	if (!raw_key_valid(key) || has_crlf(value))
		return -EINVAL;
	items_append(&s->raw, &s->n_raw, key, value);
	return 0;
}

/* --- pending --- */

struct guestconf_section *
guestconf_pending(struct guestconf *c)
{
	if (!c->pending) {
		c->pending = xcalloc(1, sizeof(*c->pending));
		c->pending->kind = GUESTCONF_SECTION_PENDING;
	}
	return c->pending;
}

void
guestconf_prune_pending(struct guestconf *c)
{
	if (c->pending && section_is_empty(c->pending)) {
		section_clear(c->pending);
		free(c->pending);
		c->pending = NULL;
	}
}

/* PVE's parse_pending_delete: entries split on ',', ';' and whitespace, '!' = force; a key
 * named twice keeps its last force flag. */
struct pending_delete {
	struct guestconf_item *entries; /* key, value "!" (force) or "" */
	size_t n;
};

static void
pending_delete_done(struct pending_delete *d)
{
	items_free(d->entries, d->n);
	d->entries = NULL;
	d->n = 0;
}

static struct guestconf_item *
pending_delete_find(const struct pending_delete *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (streq(d->entries[i].key, key))
			return &d->entries[i];
	return NULL;
}

static void
pending_delete_put(struct pending_delete *d, const char *key, bool force)
{
	struct guestconf_item *e = pending_delete_find(d, key);
	if (e) {
		free(e->value);
		e->value = xstrdup(force ? "!" : "");
	} else {
		items_append(&d->entries, &d->n, key, force ? "!" : "");
	}
}

static void
pending_delete_parse(const struct guestconf *c, struct pending_delete *ret)
{
	*ret = (struct pending_delete){ 0 };
	const char *list = c->pending ? guestconf_get(c->pending, "delete") : NULL;
	for (const char *p = list; p && *p;) {
		p += strspn(p, ",; \t\n\v\f\r");
		size_t n = strcspn(p, ",; \t\n\v\f\r");
		if (n == 0)
			break;
		bool force = *p == '!';
		_cleanup_free_ char *key = xstrndup(p + force, n - force);
		p += n;
		if (*key)
			pending_delete_put(ret, key, force);
	}
}

/* PVE's print_pending_delete: sorted, joined with ','. Removes "delete" when empty. */
static void
pending_delete_store(struct guestconf *c, struct pending_delete *d)
{
	if (d->n == 0) {
		if (c->pending)
			(void)guestconf_unset(c->pending, "delete");
		return;
	}
	_cleanup_free_ const struct guestconf_item **sorted = xcalloc(d->n, sizeof(*sorted));
	for (size_t i = 0; i < d->n; i++)
		sorted[i] = &d->entries[i];
	qsort(sorted, d->n, sizeof(*sorted), cmp_item);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < d->n; i++)
		sb_printf(&sb, "%s%s%s", i ? "," : "", sorted[i]->value, sorted[i]->key);
	section_put(guestconf_pending(c), "delete", sb_str(&sb));
}

bool
guestconf_pending_delete_has(const struct guestconf *c, const char *key, bool *ret_force)
{
	struct pending_delete d;
	pending_delete_parse(c, &d);
	const struct guestconf_item *e = pending_delete_find(&d, key);
	bool found = e != NULL;
	if (found && ret_force)
		*ret_force = streq(e->value, "!");
	pending_delete_done(&d);
	return found;
}

int
guestconf_pending_delete_add(struct guestconf *c, const char *key, bool force)
{
	/* a key that could be written into the list and read back as itself */
	if (!key_valid(key, true))
		return -EINVAL;
	/* a deletion replaces a pending value (PVE's add_to_pending_delete) */
	if (c->pending)
		guestconf_unset(c->pending, key);
	struct pending_delete d;
	pending_delete_parse(c, &d);
	pending_delete_put(&d, key, force);
	pending_delete_store(c, &d);
	pending_delete_done(&d);
	return 0;
}

int
guestconf_pending_delete_remove(struct guestconf *c, const char *key)
{
	struct pending_delete d;
	pending_delete_parse(c, &d);
	struct guestconf_item *e = pending_delete_find(&d, key);
	if (!e) {
		pending_delete_done(&d);
		return -ENOENT;
	}
	free(e->key);
	free(e->value);
	size_t i = (size_t)(e - d.entries);
	memmove(e, e + 1, (d.n - i - 1) * sizeof(*e));
	d.n--;
	pending_delete_store(c, &d);
	pending_delete_done(&d);
	return 0;
}

static bool
selected(const char *const *only, const char *key)
{
	if (!only)
		return true;
	for (; *only; only++)
		if (streq(*only, key))
			return true;
	return false;
}

bool
guestconf_apply_pending(struct guestconf *c, const char *const *only)
{
	struct guestconf_section *p = c->pending;
	if (!p)
		return false;
	bool changed = false;
	for (size_t i = 0; i < p->n_items;) {
		if (streq(p->items[i].key, "delete") || !selected(only, p->items[i].key)) {
			i++;
			continue;
		}
		_cleanup_free_ char *key = xstrdup(p->items[i].key);
		guestconf_set(&c->main, key, p->items[i].value);
		guestconf_unset(p, key);
		changed = true;
	}
	struct pending_delete d;
	pending_delete_parse(c, &d);
	size_t kept = 0;
	for (size_t i = 0; i < d.n; i++) {
		if (selected(only, d.entries[i].key)) {
			guestconf_unset(&c->main, d.entries[i].key);
			free(d.entries[i].key);
			free(d.entries[i].value);
			changed = true;
		} else {
			d.entries[kept++] = d.entries[i];
		}
	}
	if (kept != d.n) {
		d.n = kept;
		pending_delete_store(c, &d);
	}
	pending_delete_done(&d);
	if (p->description && selected(only, "description")) {
		guestconf_set_description(&c->main, p->description);
		guestconf_set_description(p, NULL);
		changed = true;
	}
	guestconf_prune_pending(c);
	return changed;
}

char **
guestconf_pending_delete_keys(const struct guestconf *c)
{
	struct pending_delete d;
	pending_delete_parse(c, &d);
	char **keys = xcalloc(d.n + 1, sizeof(*keys));
	for (size_t i = 0; i < d.n; i++)
		keys[i] = xstrdup(d.entries[i].key);
	pending_delete_done(&d);
	return keys;
}

char **
guestconf_pending_set_keys(const struct guestconf *c)
{
	size_t n = c->pending ? c->pending->n_items : 0;
	char **keys = xcalloc(n + 1, sizeof(*keys));
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (!streq(c->pending->items[i].key, "delete"))
			keys[j++] = xstrdup(c->pending->items[i].key);
	return keys;
}

char *
guestconf_nic_mac(const char *kept)
{
	if (kept)
		return xstrdup(kept);
	unsigned char b[3] = { 0 };
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* the kernel's RNG does not fail for 3 bytes after boot; keep a value anyway */
		unsigned long t = (unsigned long)getpid() ^ (unsigned long)time(NULL);
		b[0] = (unsigned char)t;
		b[1] = (unsigned char)(t >> 8);
		b[2] = (unsigned char)(t >> 16);
	}
	return xasprintf("BC:24:11:%02X:%02X:%02X", b[0], b[1], b[2]);
}

int
guestconf_add_unused(struct guestconf_section *s, const char *volume, unsigned max)
{
	for (unsigned i = 0; i < max; i++) {
		char key[24];
		snprintf(key, sizeof(key), "unused%u", i);
		const char *cur = guestconf_get(s, key);
		if (cur && streq(cur, volume))
			return 0;
		if (!cur)
			return guestconf_set(s, key, volume);
	}
	return -ENOSPC;
}

bool
guestconf_volume_owned_by(const char *volid, unsigned vmid)
{
	const char *colon = strchr(volid, ':');
	if (!colon)
		return false;
	char *end = NULL;
	unsigned long owner = strtoul(colon + 1, &end, 10);
	return end != colon + 1 && *end == '/' && owner == vmid;
}

/* --- snapshots --- */

struct guestconf_section *
guestconf_snapshot(struct guestconf *c, const char *name)
{
	return find_named(c->snapshots, c->n_snapshots, name);
}
