/* Which Debian mirror the host uses: apt's sources in the one-line format (sources.list,
 * *.list) and the deb822 format (*.sources), so debootstrap fetches from where apt does. */
#include "template/template.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <dirent.h>
#include <stdio.h>
#include <strings.h>

#define DEFAULT_MIRROR "http://deb.debian.org/debian"

void
apt_mirrors_done(struct apt_mirrors *m)
{
	free(m->debian);
	free(m->security);
	m->debian = m->security = NULL;
}

/* Whitespace-separated words; NULL-terminated, free with words_free. */
static char **
words(const char *text)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	for (const char *p = text;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = xstrndup(s, (size_t)(p - s));
		v[n] = NULL;
	}
	return v;
}

static void
words_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static bool
uri_usable(const char *uri)
{
	return startswith(uri, "http://") || startswith(uri, "https://") ||
	       startswith(uri, "file:///");
}

static char *
uri_clean(const char *uri)
{
	char *s = xstrdup(uri);
	size_t len = strlen(s);
	while (len > 0 && s[len - 1] == '/')
		s[--len] = '\0';
	return s;
}

/* One (type deb) entry's URIs and suites, as whitespace-separated lists. */
static void
consider(const char *uris, const char *suites, const char *suite, struct apt_mirrors *m)
{
	_cleanup_free_ char *security = xasprintf("%s-security", suite);
	char **u = words(uris), **s = words(suites);
	for (char **ui = u; *ui; ui++) {
		if (!uri_usable(*ui))
			continue;
		for (char **si = s; *si; si++) {
			if (!m->debian && streq(*si, suite))
				m->debian = uri_clean(*ui);
			if (!m->security && streq(*si, security))
				m->security = uri_clean(*ui);
		}
	}
	words_free(u);
	words_free(s);
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static char *
token(const char **pp)
{
	const char *p = skip_ws(*pp), *s = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*pp = p;
	return p > s ? xstrndup(s, (size_t)(p - s)) : NULL;
}

/* "deb [ options ] uri suite [components]" */
static void
scan_one_line(const char *line, const char *suite, struct apt_mirrors *m)
{
	const char *p = line;
	_cleanup_free_ char *type = token(&p);
	if (!type || !streq(type, "deb"))
		return;
	p = skip_ws(p);
	if (*p == '[') {
		p = strchr(p, ']');
		if (!p)
			return;
		p++;
	}
	_cleanup_free_ char *uri = token(&p);
	_cleanup_free_ char *dist = token(&p);
	if (uri && dist)
		consider(uri, dist, suite, m);
}

struct stanza {
	struct strbuf types, uris, suites;
	bool disabled;
};

static void
stanza_end(struct stanza *st, const char *suite, struct apt_mirrors *m)
{
	bool deb = false;
	char **t = words(sb_str(&st->types));
	for (char **ti = t; *ti; ti++)
		deb |= streq(*ti, "deb");
	words_free(t);
	if (deb && !st->disabled)
		consider(sb_str(&st->uris), sb_str(&st->suites), suite, m);
	sb_reset(&st->types);
	sb_reset(&st->uris);
	sb_reset(&st->suites);
	st->disabled = false;
}

static void
scan_deb822(const char *text, const char *suite, struct apt_mirrors *m)
{
	struct stanza st = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, false };
	struct strbuf *field = NULL; /* the field continuation lines extend */
	_cleanup_free_ char *copy = xstrdup(text);
	/* split by hand: strtok_r would merge the blank lines that end stanzas */
	for (char *line = copy; line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		size_t len = strlen(line);
		while (len &&
		       (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		if (len == 0) {
			stanza_end(&st, suite, m);
			field = NULL;
		} else if (line[0] == '#') {
			/* comment lines do not end a field */
		} else if (line[0] == ' ' || line[0] == '\t') {
			if (field) {
				sb_putc(field, ' ');
				sb_puts(field, line);
			}
		} else {
			char *colon = strchr(line, ':');
			field = NULL;
			if (colon) {
				*colon = '\0';
				const char *value = skip_ws(colon + 1);
				if (!strcasecmp(line, "Types"))
					field = &st.types;
				else if (!strcasecmp(line, "URIs"))
					field = &st.uris;
				else if (!strcasecmp(line, "Suites"))
					field = &st.suites;
				else if (!strcasecmp(line, "Enabled"))
					st.disabled = !strcasecmp(value, "no") ||
					              !strcasecmp(value, "false") ||
					              streq(value, "0");
				if (field) {
					sb_putc(field, ' ');
					sb_puts(field, value);
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	stanza_end(&st, suite, m);
	sb_free(&st.types);
	sb_free(&st.uris);
	sb_free(&st.suites);
}

void
apt_mirrors_scan(const char *text, bool deb822, const char *suite, struct apt_mirrors *m)
{
	if (deb822) {
		scan_deb822(text, suite, m);
		return;
	}
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		scan_one_line(line, suite, m);
	}
}

static void
scan_file(const char *path, bool deb822, const char *suite, struct apt_mirrors *m)
{
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 1u << 20, &text, NULL) >= 0)
		apt_mirrors_scan(text, deb822, suite, m);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
apt_mirrors_find(const char *root, const char *suite, struct apt_mirrors *m)
{
	_cleanup_free_ char *list = xasprintf("%s/etc/apt/sources.list", root);
	scan_file(list, false, suite, m);
	_cleanup_free_ char *dir = xasprintf("%s/etc/apt/sources.list.d", root);
	DIR *d = opendir(dir);
	if (d) {
		/* apt reads the parts in alphanumeric order */
		char **names = NULL;
		size_t n = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' ||
			    (!endswith(de->d_name, ".list") && !endswith(de->d_name, ".sources")))
				continue;
			names = xrealloc(names, (n + 1) * sizeof(char *));
			names[n++] = xstrdup(de->d_name);
		}
		closedir(d);
		if (n)
			qsort(names, n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
			scan_file(path, endswith(names[i], ".sources"), suite, m);
			free(names[i]);
		}
		free(names);
	}
	if (!m->debian)
		m->debian = xstrdup(DEFAULT_MIRROR);
}
