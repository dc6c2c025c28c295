/* Proxmox VE's simple "key: value" config files (see kvconfig.h). */
#include "shared/kvconfig.h"
#include "basic/encoding.h"
#include "basic/strbuf.h"

#include <ctype.h>

json_t *
kvconfig_parse(const char *text)
{
	json_t *conf = json_object();
	struct strbuf descr = STRBUF_INIT;
	bool have_descr = false;
	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		_cleanup_free_ char *line = xstrndup(p, len);
		p = eol ? eol + 1 : NULL;
		char *s = line, *e = line + strlen(line);
		while (isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!*s)
			continue;
		if (*s == '#' || startswith(s, "description:")) {
			const char *d = *s == '#' ? s + 1 : s + strlen("description:");
			if (*s != '#')
				while (isspace((unsigned char)*d))
					d++;
			_cleanup_free_ char *dec = text_decode(d, NULL);
			sb_printf(&descr, "%s\n", dec);
			have_descr = true;
			continue;
		}
		char *colon = strchr(s, ':');
		if (!colon || colon == s || strpbrk(s, " \t") < colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (isspace((unsigned char)*v))
			v++;
		json_object_set_new(conf, s, json_string(v));
	}
	if (have_descr) {
		/* PVE keeps the trailing newline of the joined comment lines */
		json_object_set_new(conf, "description", json_string(sb_str(&descr)));
	}
	sb_free(&descr);
	return conf;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *
kvconfig_format(const json_t *conf, const char **ret_bad_key)
{
	struct strbuf out = STRBUF_INIT;
	const char *descr = json_string_value(json_object_get(conf, "description"));
	if (descr) {
		for (const char *p = descr; *p;) {
			size_t n = strcspn(p, "\n");
			_cleanup_free_ char *line = xstrndup(p, n);
			_cleanup_free_ char *enc = text_encode(line);
			sb_printf(&out, "#%s\n", enc);
			p += n;
			if (*p == '\n')
				p++;
		}
	}
	size_t n = json_object_size(conf), i = 0;
	const char **keys = xcalloc(n + 1, sizeof(char *));
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)conf, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(char *), cmp_str);
	for (i = 0; i < n; i++) {
		if (streq(keys[i], "description") || streq(keys[i], "digest"))
			continue;
		json_t *val = json_object_get(conf, keys[i]);
		_cleanup_free_ char *text =
		        json_is_string(val) ? xstrdup(json_string_value(val))
		                            : json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!text || has_crlf(text) || has_crlf(keys[i])) {
			if (ret_bad_key)
				*ret_bad_key = keys[i];
			free(keys);
			sb_free(&out);
			return NULL;
		}
		sb_printf(&out, "%s: %s\n", keys[i], text);
	}
	free(keys);
	return sb_steal(&out);
}
