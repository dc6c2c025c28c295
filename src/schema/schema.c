/* Schema validation with Proxmox VE's rules and error texts (see schema.h). */
#include "schema/schema.h"
#include "schema/propstr.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>

/* ---- small PVE helpers ---- */

bool
is_integer_text(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool
digits(const char **p)
{
	const char *s = *p;
	while (**p >= '0' && **p <= '9')
		(*p)++;
	return *p > s;
}

/* PVE: ^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$ */
bool
is_number_text(const char *s)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	bool before = digits(&p), after = false;
	if (*p == '.') {
		p++;
		after = digits(&p);
	}
	if (!before && !after)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!digits(&p))
			return false;
	}
	return *p == '\0';
}

int
parse_boolean_text(const char *s)
{
	static const char *const yes[] = { "1", "on", "yes", "true" };
	static const char *const no[] = { "0", "off", "no", "false" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

void
strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **p = strv; *p; p++)
		free(*p);
	free(strv);
}

bool
strv_contains(const char *const *strv, const char *s)
{
	for (; strv && *strv; strv++)
		if (streq(*strv, s))
			return true;
	return false;
}

size_t
strv_length(char *const *strv)
{
	size_t n = 0;
	while (strv && strv[n])
		n++;
	return n;
}

char **
split_list(const char *text)
{
	size_t n = 0, cap = 4;
	char **v = xcalloc(cap, sizeof(char *));
	/* PVE splits on NUL when the text contains one; C strings cannot, so only the
	 * separator form applies here. */
	const char *p = text;
	for (;;) {
		while (*p && strchr(",; \t\r\n\f\v", *p))
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && !strchr(",; \t\r\n\f\v", *p))
			p++;
		if (n + 2 > cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(char *));
		}
		v[n++] = xstrndup(start, (size_t)(p - start));
	}
	v[n] = NULL;
	return v;
}

const struct api_schema *
schema_find(const struct api_schema *list, const char *name)
{
	for (const struct api_schema *s = list; s && s->name; s++)
		if (streq(s->name, name))
			return s;
	return NULL;
}

/* ---- errors ---- */

static void
add_error(json_t *errors, const char *path, const char *msg)
{
	if (!errors)
		return;
	const char *key = path && *path ? path : "_root";
	json_t *old = json_object_get(errors, key);
	if (old) {
		/* PVE joins with a literal backslash-n (single-quoted '\n' in Perl) */
		char *joined = xasprintf("%s\\n%s", json_string_value(old), msg);
		json_object_set_new(errors, key, json_string(joined));
		free(joined);
	} else {
		json_object_set_new(errors, key, json_string(msg));
	}
}

static void add_errorf(json_t *errors, const char *path, const char *fmt, ...) _printf_(3, 4);
static void
add_errorf(json_t *errors, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		oom();
	va_end(ap);
	add_error(errors, path, msg);
	free(msg);
}

static const char *
type_name(enum api_type t)
{
	switch (t) {
	case API_T_STRING:
		return "string";
	case API_T_INTEGER:
		return "integer";
	case API_T_NUMBER:
		return "number";
	case API_T_BOOLEAN:
		return "boolean";
	case API_T_ARRAY:
		return "array";
	case API_T_OBJECT:
		return "object";
	case API_T_NULL:
		return "null";
	default:
		return "any";
	}
}

/* ---- regex cache: patterns are static strings in the route tables ---- */

struct regex_entry {
	const char *pattern;
	regex_t re;
	bool ok;
};

static bool
pattern_matches(const char *pattern, const char *value)
{
	static struct regex_entry *cache;
	static size_t n_cache;
	struct regex_entry *e = NULL;
	for (size_t i = 0; i < n_cache; i++)
		if (cache[i].pattern == pattern) {
			e = &cache[i];
			break;
		}
	if (!e) {
		cache = xrealloc(cache, (n_cache + 1) * sizeof(*cache));
		e = &cache[n_cache++];
		e->pattern = pattern;
		_cleanup_free_ char *anchored = xasprintf("^(%s)$", pattern);
		e->ok = regcomp(&e->re, anchored, REG_EXTENDED | REG_NOSUB) == 0;
	}
	/* a schema pattern that does not compile is a programming error: refuse the value */
	return e->ok && regexec(&e->re, value, 0, NULL, 0) == 0;
}

/* ---- formats ---- */

static int
check_format(const char *format, const struct api_schema *props, const char *path,
             const char *value, struct strbuf *why)
{
	if (props)
		return propstr_check(props, value, path, why);

	bool list, opt;
	const struct api_format *f = format_lookup_suffixed(format, &list, &opt);
	if (!f) {
		sb_printf(why, "undefined format '%s'\n", format);
		return -EINVAL;
	}
	if (f->props && !list && !opt)
		return propstr_check(f->props, value, path, why);
	if (!f->check) {
		sb_printf(why, "'-%s' format must have code ref, not hash\n",
		          list ? "list" : "opt");
		return -EINVAL;
	}
	if (opt && !*value)
		return 0;
	if (!list)
		return f->check(value, why);
	char **items = split_list(value);
	int r = 0;
	for (char **p = items; *p && r == 0; p++)
		r = f->check(*p, why);
	strv_free(items);
	return r;
}

const struct api_format *
format_lookup_suffixed(const char *format, bool *ret_list, bool *ret_opt)
{
	size_t n = strlen(format);
	bool list = n > 5 && streq(format + n - 5, "-list");
	bool opt = n > 4 && streq(format + n - 4, "-opt");
	_cleanup_free_ char *base = xstrndup(format, list ? n - 5 : opt ? n - 4 : n);
	if (ret_list)
		*ret_list = list;
	if (ret_opt)
		*ret_opt = opt;
	return format_lookup(base);
}

/* ---- values ---- */

char *
schema_scalar_text(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return xasprintf("%.15g", json_real_value(v));
	case JSON_TRUE:
		return xstrdup("1");
	case JSON_FALSE:
		return xstrdup("0");
	default:
		return NULL;
	}
}

static bool
check_type(const char *path, enum api_type type, json_t *v, json_t *errors)
{
	const char *tn = type_name(type);
	switch (type) {
	case API_T_ANY:
	case API_T_NONE:
		return true;
	case API_T_NULL:
		if (!json_is_null(v)) {
			add_errorf(errors, path, "type check ('%s') failed - value is not null",
			           tn);
			return false;
		}
		return true;
	case API_T_ARRAY:
		if (!json_is_array(v)) {
			add_errorf(errors, path, "type check ('%s') failed", tn);
			return false;
		}
		return true;
	case API_T_OBJECT:
		if (!json_is_object(v)) {
			add_errorf(errors, path, "type check ('%s') failed", tn);
			return false;
		}
		return true;
	default:
		break;
	}
	if (json_is_array(v) || json_is_object(v)) {
		add_errorf(errors, path, "type check ('%s') failed - got %s", tn,
		           json_is_array(v) ? "ARRAY" : "HASH");
		return false;
	}
	if (json_is_boolean(v)) {
		if (type == API_T_BOOLEAN)
			return true;
		add_errorf(errors, path, "type check ('%s') failed - got JSON::PP::Boolean", tn);
		return false;
	}
	if (json_is_null(v)) {
		add_errorf(errors, path, "type check ('%s') failed", tn);
		return false;
	}
	_cleanup_free_ char *text = schema_scalar_text(v);
	bool ok = true;
	if (type == API_T_BOOLEAN)
		ok = streq(text, "1") || streq(text, "0");
	else if (type == API_T_INTEGER)
		ok = is_integer_text(text);
	else if (type == API_T_NUMBER)
		ok = is_number_text(text);
	if (!ok)
		add_errorf(errors, path, "type check ('%s') failed - got '%s'", tn, text);
	return ok;
}

static json_t *
typed_scalar(enum api_type type, const char *text, json_t *orig)
{
	switch (type) {
	case API_T_INTEGER:
		return json_integer(strtoll(text, NULL, 10));
	case API_T_NUMBER:
		return json_real(strtod(text, NULL));
	case API_T_BOOLEAN:
		return json_integer(streq(text, "1") ? 1 : 0);
	case API_T_STRING:
		return json_string(text);
	default:
		return json_incref(orig);
	}
}

static void
format_limit(char *buf, size_t n, double v)
{
	snprintf(buf, n, "%.15g", v);
}

int
schema_check_value(const struct api_schema *s, const char *path, json_t *v, json_t **ret,
                   json_t *errors)
{
	if (!check_type(path, s->type, v, errors))
		return -EINVAL;

	if (json_is_array(v)) {
		json_t *out = json_array();
		size_t i;
		json_t *el;
		int r = 0;
		json_array_foreach (v, i, el) {
			if (!s->items) {
				json_array_append(out, el);
				continue;
			}
			_cleanup_free_ char *p = xasprintf("%s[%zu]", path, i);
			json_t *t = NULL;
			if (schema_check_value(s->items, p, el, &t, errors) < 0)
				r = -EINVAL;
			else
				json_array_append_new(out, t);
		}
		if (r < 0 || !ret)
			json_decref(out);
		else
			*ret = out;
		return r;
	}
	if (json_is_object(v) || json_is_null(v)) {
		if (ret)
			*ret = json_incref(v);
		return 0;
	}

	_cleanup_free_ char *text = schema_scalar_text(v);
	if (s->format || s->props) {
		_cleanup_strbuf_ struct strbuf why = STRBUF_INIT;
		if (check_format(s->format, s->props, path, text, &why) < 0) {
			add_errorf(errors, path, "invalid format - %s", sb_str(&why));
			return -EINVAL;
		}
	}
	if (s->pattern && !pattern_matches(s->pattern, text)) {
		add_error(errors, path, "value does not match the regex pattern");
		return -EINVAL;
	}
	size_t len = strlen(text); /* PVE counts characters; ASCII limits make bytes fine */
	if (s->max_length && len > s->max_length) {
		add_errorf(errors, path, "value may only be %u characters long", s->max_length);
		return -EINVAL;
	}
	if (s->min_length && len < s->min_length) {
		add_errorf(errors, path, "value must be at least %u characters long",
		           s->min_length);
		return -EINVAL;
	}
	if (is_number_text(text)) {
		double d = strtod(text, NULL);
		char lim[64];
		if ((s->flags & API_F_HAS_MAX) && d > s->maximum) {
			format_limit(lim, sizeof(lim), s->maximum);
			add_errorf(errors, path, "value must have a maximum value of %s", lim);
			return -EINVAL;
		}
		if ((s->flags & API_F_HAS_MIN) && d < s->minimum) {
			format_limit(lim, sizeof(lim), s->minimum);
			add_errorf(errors, path, "value must have a minimum value of %s", lim);
			return -EINVAL;
		}
	}
	if (s->enums) {
		bool found = false;
		for (const char *const *e = s->enums; *e && !found; e++)
			found = streq(*e, text);
		if (!found) {
			_cleanup_strbuf_ struct strbuf all = STRBUF_INIT;
			for (const char *const *e = s->enums; *e; e++)
				sb_printf(&all, "%s%s", e == s->enums ? "" : ", ", *e);
			add_errorf(errors, path,
			           "value '%s' does not have a value in the enumeration '%s'", text,
			           sb_str(&all));
			return -EINVAL;
		}
	}
	if (ret)
		*ret = typed_scalar(s->type, text, v);
	return 0;
}

/* PVE's normalize_legacy_param_formats: arrays for "-list" strings are joined with ',',
 * scalars for array parameters are wrapped. */
static json_t *
normalize(const struct api_schema *s, json_t *v)
{
	size_t n = s->format ? strlen(s->format) : 0;
	if (s->type == API_T_STRING && json_is_array(v) && n > 5 &&
	    streq(s->format + n - 5, "-list")) {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
		size_t i;
		json_t *el;
		json_array_foreach (v, i, el) {
			_cleanup_free_ char *t = schema_scalar_text(el);
			if (!t)
				return json_incref(v);
			sb_printf(&sb, "%s%s", i ? "," : "", t);
		}
		return json_string(sb_str(&sb));
	}
	if (s->type == API_T_ARRAY && !json_is_array(v))
		return json_pack("[O]", v);
	return json_incref(v);
}

int
schema_validate(const struct api_schema *list, json_t *raw, json_t **ret, json_t *errors)
{
	json_t *out = json_object();
	size_t n_errors = json_object_size(errors);

	for (const struct api_schema *s = list; s && s->name; s++) {
		json_t *v = json_object_get(raw, s->name);
		if (!v) {
			if (!s->optional)
				add_error(errors, s->name,
				          "property is missing and it is not optional");
			continue;
		}
		json_t *nv = normalize(s, v);
		json_t *typed = NULL;
		if (schema_check_value(s, s->name, nv, &typed, errors) == 0)
			json_object_set_new(out, s->name, typed);
		json_decref(nv);
	}

	const char *key;
	json_t *v;
	json_object_foreach (raw, key, v) {
		const struct api_schema *s = schema_find(list, key);
		if (!s) {
			add_error(errors, key,
			          "property is not defined in schema and the schema does not allow "
			          "additional properties");
			continue;
		}
		if (s->requires && !json_object_get(raw, s->requires))
			add_errorf(errors, s->requires, "missing property required by '%s'", key);
	}

	if (json_object_size(errors) > n_errors) {
		json_decref(out);
		return -EINVAL;
	}
	*ret = out;
	return 0;
}

/* ---- accessors ---- */

const char *
param_str(const json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

int64_t
param_int(const json_t *params, const char *name, int64_t def)
{
	json_t *v = json_object_get(params, name);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return def;
}

bool
param_bool(const json_t *params, const char *name, bool def)
{
	json_t *v = json_object_get(params, name);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_boolean(v))
		return json_is_true(v);
	return def;
}

bool
param_has(const json_t *params, const char *name)
{
	return json_object_get(params, name) != NULL;
}

/* ---- description ---- */

json_t *
schema_to_json(const struct api_schema *s)
{
	json_t *o = json_object();
	if (s->type != API_T_NONE)
		json_object_set_new(o, "type", json_string(type_name(s->type)));
	if (s->format)
		json_object_set_new(o, "format", json_string(s->format));
	if (s->props) {
		json_t *props = json_object();
		for (const struct api_schema *k = s->props; k->name; k++)
			json_object_set_new(props, k->name, schema_to_json(k));
		json_object_set_new(o, s->type == API_T_STRING ? "format" : "properties", props);
	}
	if (s->items)
		json_object_set_new(o, "items", schema_to_json(s->items));
	if (s->pattern)
		json_object_set_new(o, "pattern", json_string(s->pattern));
	if (s->enums) {
		json_t *e = json_array();
		for (const char *const *v = s->enums; *v; v++)
			json_array_append_new(e, json_string(*v));
		json_object_set_new(o, "enum", e);
	}
	if (s->flags & API_F_HAS_MIN)
		json_object_set_new(o, "minimum", json_real(s->minimum));
	if (s->flags & API_F_HAS_MAX)
		json_object_set_new(o, "maximum", json_real(s->maximum));
	if (s->min_length)
		json_object_set_new(o, "minLength", json_integer(s->min_length));
	if (s->max_length)
		json_object_set_new(o, "maxLength", json_integer(s->max_length));
	if (s->optional)
		json_object_set_new(o, "optional", json_integer(1));
	if (s->default_key)
		json_object_set_new(o, "default_key", json_integer(1));
	if (s->alias)
		json_object_set_new(o, "alias", json_string(s->alias));
	if (s->key_alias)
		json_object_set_new(o, "keyAlias", json_string(s->key_alias));
	if (s->requires)
		json_object_set_new(o, "requires", json_string(s->requires));
	if (s->default_text)
		json_object_set_new(o, "default", json_string(s->default_text));
	if (s->typetext)
		json_object_set_new(o, "typetext", json_string(s->typetext));
	if (s->description)
		json_object_set_new(o, "description", json_string(s->description));
	return o;
}
