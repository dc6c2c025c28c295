/* Property strings parsed and printed as Proxmox VE does (see propstr.h). */
#include "schema/propstr.h"

#include <inttypes.h>
#include <stdio.h>

static const struct api_schema *
default_key(const struct api_schema *keys)
{
	for (const struct api_schema *k = keys; k->name; k++)
		if (k->default_key)
			return k;
	return NULL;
}

static void
sorted_errors(json_t *errors, struct strbuf *why)
{
	/* PVE prints the error hash in its (random) key order; sorted is deterministic */
	size_t n = json_object_size(errors), i = 0;
	const char **names = xcalloc(n, sizeof(char *));
	const char *key;
	json_t *v;
	json_object_foreach (errors, key, v)
		names[i++] = key;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(names[b - 1], names[b]) > 0; b--) {
			const char *t = names[b];
			names[b] = names[b - 1];
			names[b - 1] = t;
		}
	sb_puts(why, "format error\n");
	for (i = 0; i < n; i++)
		sb_printf(why, "%s: %s\n", names[i],
		          json_string_value(json_object_get(errors, names[i])));
	free(names);
}

int
propstr_parse(const struct api_schema *keys, const char *text, const char *path, json_t **ret,
              struct strbuf *why)
{
	json_t *res = json_object();
	const struct api_schema *dkey = NULL;
	char **parts = NULL;
	size_t n_parts = 0;
	int r = -EINVAL;

	/* split on ',' keeping empty parts out, like Perl's split(/,/) + the whitespace skip */
	for (const char *p = text;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		parts = xrealloc(parts, (n_parts + 1) * sizeof(char *));
		parts[n_parts++] = xstrndup(p, len);
		if (!c)
			break;
		p = c + 1;
	}

	for (size_t i = 0; i < n_parts; i++) {
		char *part = parts[i];
		if (strspn(part, " \t\r\n\f\v") == strlen(part))
			continue;
		char *eq = strchr(part, '=');
		if (eq && eq > part && eq[1] != '\0') {
			*eq = '\0';
			const char *k = part, *v = eq + 1;
			if (json_object_get(res, k)) {
				sb_printf(why,
				          "duplicate key in comma-separated list property: %s\n",
				          k);
				goto out;
			}
			const struct api_schema *s = schema_find(keys, k);
			if (s && s->alias) {
				if (s->key_alias) {
					if (json_object_get(res, s->key_alias)) {
						sb_printf(why,
						          "key alias '%s' is already defined\n",
						          s->key_alias);
						goto out;
					}
					json_object_set_new(res, s->key_alias, json_string(k));
				}
				k = s->alias;
				s = schema_find(keys, k);
				if (json_object_get(res, k)) {
					sb_printf(why, "key '%s' is already defined (via alias)\n",
					          k);
					goto out;
				}
			}
			if (!s) {
				sb_printf(why, "invalid key in comma-separated list property: %s\n",
				          k);
				goto out;
			}
			int b = s->type == API_T_BOOLEAN ? parse_boolean_text(v) : -1;
			json_object_set_new(res, k,
			                    b >= 0 ? json_string(b ? "1" : "0") : json_string(v));
		} else if (!eq) {
			if (dkey) {
				sb_printf(why,
				          "duplicate key in comma-separated list property: %s\n",
				          dkey->name);
				goto out;
			}
			dkey = default_key(keys);
			if (!dkey) {
				sb_puts(why, "value without key, but schema does not define a "
				             "default key\n");
				goto out;
			}
			if (json_object_get(res, dkey->name)) {
				sb_printf(why,
				          "duplicate key in comma-separated list property: %s\n",
				          dkey->name);
				goto out;
			}
			int b = dkey->type == API_T_BOOLEAN ? parse_boolean_text(part) : -1;
			json_object_set_new(res, dkey->name,
			                    b >= 0 ? json_string(b ? "1" : "0")
			                           : json_string(part));
		} else {
			sb_puts(why, "missing key in comma-separated list property\n");
			goto out;
		}
	}

	/* check_object over the collected values */
	json_t *errors = json_object();
	json_t *typed = json_object();
	for (const struct api_schema *s = keys; s->name; s++) {
		if (s->alias)
			continue;
		json_t *v = json_object_get(res, s->name);
		_cleanup_free_ char *kp =
		        path && *path ? xasprintf("%s.%s", path, s->name) : xstrdup(s->name);
		if (!v) {
			if (!s->optional)
				json_object_set_new(
				        errors, kp,
				        json_string("property is missing and it is not optional"));
			continue;
		}
		json_t *t = NULL;
		if (schema_check_value(s, kp, v, &t, errors) == 0)
			json_object_set_new(typed, s->name, t);
	}
	const char *k;
	json_t *v;
	json_object_foreach (res, k, v) {
		const struct api_schema *s = schema_find(keys, k);
		if (s && s->requires && !json_object_get(res, s->requires)) {
			_cleanup_free_ char *kp = path && *path
			                                  ? xasprintf("%s.%s", path, s->requires)
			                                  : xstrdup(s->requires);
			_cleanup_free_ char *m = xasprintf("missing property required by '%s'", k);
			json_object_set_new(errors, kp, json_string(m));
		}
		/* key-alias holders (e.g. "model") are schema keys themselves, so only truly
		 * unknown names remain; those were refused above */
	}
	if (json_object_size(errors) > 0) {
		sorted_errors(errors, why);
		json_decref(errors);
		json_decref(typed);
		goto out;
	}
	json_decref(errors);
	if (ret)
		*ret = typed;
	else
		json_decref(typed);
	r = 0;
out:
	for (size_t i = 0; i < n_parts; i++)
		free(parts[i]);
	free(parts);
	json_decref(res);
	return r;
}

int
propstr_check(const struct api_schema *keys, const char *text, const char *path, struct strbuf *why)
{
	return propstr_parse(keys, text, path, NULL, why);
}

/* ---- printing ---- */

static char *
value_text(const struct api_schema *s, const json_t *v)
{
	if (s && s->format && streq(s->format, "disk-size")) {
		uint64_t bytes = 0;
		if (json_is_integer(v))
			bytes = (uint64_t)json_integer_value(v);
		else if (json_is_string(v) && size_parse(json_string_value(v), &bytes) < 0)
			return xstrdup(json_string_value(v));
		return size_format(bytes);
	}
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%.15g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "1" : "0");
	if (json_is_array(v)) {
		struct strbuf sb = STRBUF_INIT;
		size_t i;
		json_t *el;
		json_array_foreach (v, i, el) {
			_cleanup_free_ char *t = value_text(NULL, el);
			sb_printf(&sb, "%s%s", i ? ";" : "", t);
		}
		return sb_steal(&sb);
	}
	return xstrdup("");
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *
propstr_print(const struct api_schema *keys, const json_t *obj)
{
	struct strbuf out = STRBUF_INIT;
	size_t n = json_object_size(obj), i = 0;
	const char **names = xcalloc(n + 1, sizeof(char *));
	bool *done = xcalloc(n + 1, sizeof(bool));
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)obj, k, v)
		names[i++] = k;
	qsort(names, n, sizeof(char *), cmp_str);

	const struct api_schema *dkey = default_key(keys);
	for (int pass = 0; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			if (done[i])
				continue;
			const struct api_schema *s = schema_find(keys, names[i]);
			bool take = pass == 0   ? (dkey && streq(names[i], dkey->name))
			            : pass == 1 ? (s && !s->optional)
			                        : true;
			if (!take)
				continue;
			done[i] = true;
			json_t *val = json_object_get(obj, names[i]);
			if (json_is_null(val))
				continue;
			/* "<model>=<mac>": a key that is some alias's key_alias combines with the
			 * alias target */
			const struct api_schema *combine = NULL;
			for (const struct api_schema *a = keys; a->name; a++)
				if (a->alias && a->key_alias && streq(a->key_alias, names[i])) {
					combine = schema_find(keys, a->alias);
					break;
				}
			json_t *cval = combine ? json_object_get(obj, combine->name) : NULL;
			_cleanup_free_ char *text = value_text(s, val);
			if (out.len)
				sb_putc(&out, ',');
			if (cval) {
				_cleanup_free_ char *ctext = value_text(combine, cval);
				sb_printf(&out, "%s=%s", text, ctext);
				for (size_t j = 0; j < n; j++)
					if (streq(names[j], combine->name))
						done[j] = true;
			} else if (pass == 0) {
				sb_puts(&out, text);
			} else {
				sb_printf(&out, "%s=%s", names[i], text);
			}
		}
	}
	free(names);
	free(done);
	return sb_steal(&out);
}

/* ---- sizes ---- */

int
size_parse(const char *text, uint64_t *ret)
{
	const char *p = text;
	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(p, &end);
	if (errno || end == p)
		return -EINVAL;
	/* PVE: ^(\d+(\.\d+)?)([KMGT](?:iB)?)?$ */
	for (const char *q = p; q < end; q++)
		if (!((*q >= '0' && *q <= '9') || *q == '.'))
			return -EINVAL;
	if (end[-1] == '.')
		return -EINVAL;
	static const struct {
		const char *unit;
		double mult;
	} units[] = { { "", 1 },
		      { "K", 1024.0 },
		      { "KiB", 1024.0 },
		      { "M", 1048576.0 },
		      { "MiB", 1048576.0 },
		      { "G", 1073741824.0 },
		      { "GiB", 1073741824.0 },
		      { "T", 1099511627776.0 },
		      { "TiB", 1099511627776.0 } };
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (streq(end, units[i].unit)) {
			double bytes = v * units[i].mult;
			if (bytes >= 18446744073709551615.0)
				return -ERANGE;
			*ret = (uint64_t)bytes;
			return 0;
		}
	return -EINVAL;
}

char *
size_format(uint64_t size)
{
	/* PVE's format_size: the largest unit that divides exactly (and, faithfully, "0T" for 0) */
	if (size % 1024)
		return xasprintf("%" PRIu64, size);
	uint64_t kb = size / 1024;
	if (kb % 1024)
		return xasprintf("%" PRIu64 "K", kb);
	uint64_t mb = kb / 1024;
	if (mb % 1024)
		return xasprintf("%" PRIu64 "M", mb);
	uint64_t gb = mb / 1024;
	if (gb % 1024)
		return xasprintf("%" PRIu64 "G", gb);
	return xasprintf("%" PRIu64 "T", gb / 1024);
}
