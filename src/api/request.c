/* Request parameters as Proxmox VE's HTTP server reads them (see request.h). */
#include "api/request.h"
#include "basic/encoding.h"
#include "basic/strbuf.h"

#include <ctype.h>

static int
decode_part(const char *s, size_t len, char **ret, struct error *err)
{
	size_t n;
	if (percent_decode(s, len, true, ret, &n) < 0)
		return error_set_status(err, 400, EINVAL, "invalid urlencoded string");
	if (!utf8_valid(*ret, n)) {
		free(*ret);
		*ret = NULL;
		return error_set_status(err, 400, EINVAL, "invalid UTF-8 in request parameters");
	}
	return 0;
}

int
urlencoded_parse(const char *text, size_t len, json_t *obj, struct error *err)
{
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && text[j] != '&' && text[j] != ';')
			j++;
		if (j > i) {
			const char *pair = text + i;
			size_t plen = j - i;
			const char *eq = memchr(pair, '=', plen);
			size_t klen = eq ? (size_t)(eq - pair) : plen;
			_cleanup_free_ char *k = NULL, *v = NULL;
			int r = decode_part(pair, klen, &k, err);
			if (r < 0)
				return r;
			if (eq) {
				/* Perl's split(/=/) stops at the next '=': "a=b=c" gives value "b"
				 */
				const char *vs = eq + 1;
				const char *ve = memchr(vs, '=', (size_t)(pair + plen - vs));
				size_t vlen = (size_t)((ve ? ve : pair + plen) - vs);
				r = decode_part(vs, vlen, &v, err);
				if (r < 0)
					return r;
			}
			json_t *nv = v ? json_string(v) : json_null();
			json_t *old = json_object_get(obj, k);
			if (old && v) {
				if (json_is_array(old)) {
					json_array_append_new(old, nv);
				} else {
					json_t *arr = json_array();
					json_array_append(arr, old);
					json_array_append_new(arr, nv);
					json_object_set_new(obj, k, arr);
				}
			} else {
				json_object_set_new(obj, k, nv);
			}
		}
		i = j + 1;
	}
	return 0;
}

int
json_body_parse(const char *body, size_t len, json_t **ret, struct error *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return error_set_status(err, 400, EINVAL, "malformed JSON body: %s", jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return error_set_status(err, 400, EINVAL, "JSON body must be an object");
	}
	*ret = v;
	return 0;
}

char *
content_type_base(const char *value)
{
	while (*value == ' ' || *value == '\t')
		value++;
	size_t n = strcspn(value, "; \t");
	char *s = xstrndup(value, n);
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

char *
auth_value(const char *header, const char *key)
{
	if (!header)
		return NULL;
	size_t klen = strlen(key);
	for (const char *p = header; (p = strstr(p, key)) != NULL; p++) {
		bool at_start = p == header || p[-1] == ' ' || p[-1] == '\t';
		if (!at_start || (p[klen] != '=' && p[klen] != ' '))
			continue;
		const char *v = p + klen + 1;
		size_t len = strcspn(v, ";");
		if (len == 0)
			return NULL;
		char *out;
		if (percent_decode(v, len, false, &out, NULL) < 0)
			return xstrndup(v, len);
		return out;
	}
	return NULL;
}
