/* Proxmox VE's SectionConfig text format (see sectioncfg.h). */
#include "shared/sectioncfg.h"
#include "basic/encoding.h"
#include "basic/strbuf.h"

#include <ctype.h>

static void
warn(struct sectioncfg *cfg, size_t lineno, const char *line)
{
	cfg->warnings = xrealloc(cfg->warnings, (cfg->n_warnings + 2) * sizeof(char *));
	cfg->warnings[cfg->n_warnings++] = xasprintf("line %zu ignored: %s", lineno, line);
	cfg->warnings[cfg->n_warnings] = NULL;
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
sectioncfg_parse(const char *text, struct sectioncfg **ret)
{
	struct sectioncfg *cfg = xcalloc(1, sizeof(*cfg));
	struct section *cur = NULL;
	size_t lineno = 0;
	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		_cleanup_free_ char *raw = xstrndup(p, len);
		p = eol ? eol + 1 : NULL;
		lineno++;
		char *line = trim(raw);
		if (!*line) {
			cur = NULL;
			continue;
		}
		if (*line == '#')
			continue;
		bool indented = isspace((unsigned char)raw[0]);
		if (!indented) {
			char *colon = strchr(line, ':');
			if (!colon) {
				warn(cfg, lineno, line);
				cur = NULL;
				continue;
			}
			*colon = '\0';
			char *type = trim(line), *id = trim(colon + 1);
			if (!*type || !*id || strpbrk(type, " \t") || strpbrk(id, " \t")) {
				warn(cfg, lineno, raw);
				cur = NULL;
				continue;
			}
			cfg->sections =
			        xrealloc(cfg->sections, (cfg->n + 1) * sizeof(struct section));
			cur = &cfg->sections[cfg->n++];
			cur->type = xstrdup(type);
			cur->id = xstrdup(id);
			cur->props = json_object();
			continue;
		}
		if (!cur) {
			warn(cfg, lineno, line);
			continue;
		}
		size_t klen = strcspn(line, " \t");
		_cleanup_free_ char *key = xstrndup(line, klen);
		const char *value = line[klen] ? trim(line + klen) : "1";
		json_object_set_new(cur->props, key, json_string(value));
	}
	*ret = cfg;
	return 0;
}

int
sectioncfg_format(const struct sectioncfg *cfg, char **ret)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < cfg->n; i++) {
		const struct section *s = &cfg->sections[i];
		if (has_crlf(s->type) || has_crlf(s->id))
			return -EINVAL;
		sb_printf(&sb, "%s%s: %s\n", i ? "\n" : "", s->type, s->id);
		const char *k;
		json_t *v;
		json_object_foreach (s->props, k, v) {
			const char *val = json_string_value(v);
			if (!val || has_crlf(k) || has_crlf(val))
				return -EINVAL;
			sb_printf(&sb, "\t%s %s\n", k, val);
		}
	}
	*ret = sb_steal(&sb);
	return 0;
}

void
sectioncfg_free(struct sectioncfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->sections[i].type);
		free(cfg->sections[i].id);
		json_decref(cfg->sections[i].props);
	}
	free(cfg->sections);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	free(cfg);
}

const struct section *
sectioncfg_find(const struct sectioncfg *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (streq(cfg->sections[i].id, id))
			return &cfg->sections[i];
	return NULL;
}

const char *
section_get(const struct section *s, const char *key)
{
	return json_string_value(json_object_get(s->props, key));
}
