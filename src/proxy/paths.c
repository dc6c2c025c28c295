/* Request routing by path and static file naming rules (see paths.h). */
#include "paths.h"

#include <strings.h>

enum proxy_route
proxy_route_path(const char *decoded, char *ret_format)
{
	if (!startswith(decoded, "/api2"))
		return ROUTE_STATIC;
	const char *s = decoded + 5;
	if (*s != '\0' && *s != '/')
		return ROUTE_STATIC; /* "/api2foo" is not the API */
	while (*s == '/')
		s++;
	size_t n = 0;
	if (s[0] >= 'a' && s[0] <= 'z') {
		n = 1;
		while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9'))
			n++;
	}
	if (n < 2 || (s[n] != '\0' && s[n] != '/'))
		return ROUTE_API_NO_FORMAT;
	if (n == 4 && strneq(s, "json", 4))
		return ROUTE_API;
	if (ret_format) {
		size_t k = MIN(n, (size_t)PROXY_FORMAT_MAX - 1);
		memcpy(ret_format, s, k);
		ret_format[k] = '\0';
	}
	return ROUTE_API_FORMAT;
}

/* prefix, then what follows it; NULL when s does not start with prefix. */
static const char *
after(const char *s, const char *prefix)
{
	return s && startswith(s, prefix) ? s + strlen(prefix) : NULL;
}

/* One non-empty segment without '/', then '/': returns what follows, or NULL. */
static const char *
skip_segment(const char *s)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	return slash && slash != s ? slash + 1 : NULL;
}

bool
proxy_upload_path(const char *decoded)
{
	const char *s = after(decoded, "/api2/json/nodes/");
	s = skip_segment(after(skip_segment(s), "storage/"));
	return s && streq(s, "upload");
}

bool
proxy_console_path(const char *decoded)
{
	const char *s = skip_segment(after(decoded, "/api2/json/nodes/"));
	const char *guest = after(s, "lxc/");
	if (!guest)
		guest = after(s, "qemu/");
	s = skip_segment(guest);
	return s && streq(s, "vncwebsocket");
}

const char *
static_relpath(const char *decoded)
{
	if (decoded[0] != '/')
		return NULL;
	if (streq(decoded, "/"))
		return "index.html";
	const char *rel = decoded + 1;
	const char *seg = rel;
	for (const char *s = rel;; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '/' || c == '\0') {
			/* empty segment ("//", trailing '/'), ".", ".." and hidden files */
			if (s == seg || seg[0] == '.')
				return NULL;
			if (c == '\0')
				break;
			seg = s + 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return NULL;
	}
	return rel;
}

const char *
static_content_type(const char *relpath)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "json", "application/json" },
		{ "map", "application/json" },
		{ "webmanifest", "application/manifest+json" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "ico", "image/x-icon" },
		{ "woff", "font/woff" },
		{ "woff2", "font/woff2" },
		{ "ttf", "font/ttf" },
		{ "otf", "font/otf" },
		{ "wasm", "application/wasm" },
	};
	const char *slash = strrchr(relpath, '/');
	const char *base = slash ? slash + 1 : relpath;
	const char *dot = strrchr(base, '.');
	if (dot && dot != base)
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

const char *
static_cache_control(const char *relpath)
{
	if (startswith(relpath, "assets/"))
		return "public, max-age=31536000, immutable";
	return "no-cache";
}

/* One coding of an Accept-Encoding list (RFC 9110 12.5.3): its name, then parameters; a
 * q of 0 (0, 0.0, 0.00, 0.000) refuses it. */
static bool
coding_refused(const char *params, size_t len)
{
	for (const char *s = params; s < params + len;) {
		while (s < params + len && (*s == ';' || *s == ' ' || *s == '\t'))
			s++;
		if (s + 1 < params + len && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
			s += 2;
			if (*s != '0')
				return false;
			for (s++; s < params + len && (*s == '.' || *s == '0'); s++)
				;
			return s == params + len || *s == ' ' || *s == '\t' || *s == ';';
		}
		while (s < params + len && *s != ';')
			s++;
	}
	return false;
}

bool
http_accepts_gzip(const char *accept_encoding)
{
	if (!accept_encoding)
		return false;
	bool star = false;
	for (const char *s = accept_encoding; *s;) {
		s += strspn(s, " \t,");
		size_t len = strcspn(s, ",");
		size_t name = strcspn(s, ";, \t");
		if (name > len)
			name = len;
		bool refused = coding_refused(s + name, len - name);
		if (name == 4 && strncasecmp(s, "gzip", 4) == 0)
			return !refused;
		if (name == 1 && s[0] == '*')
			star = !refused;
		s += len;
	}
	return star;
}
