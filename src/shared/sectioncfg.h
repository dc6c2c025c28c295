/* Proxmox VE's SectionConfig text format (storage.cfg and others):
 *
 *   dir: local
 *   	path /var/lib/vz
 *   	content iso,vztmpl,backup
 *
 * A header "<type>: <id>" opens a section; indented "<key> <value>" lines (a bare key means
 * "1") belong to it; a blank line or the next header closes it; '#' lines are comments. */
#pragma once

#include "basic/macros.h"

#include <jansson.h>

struct section {
	char *type;
	char *id;
	json_t *props; /* key -> string, in file order */
};

struct sectioncfg {
	struct section *sections;
	size_t n;
	char **warnings; /* lines that were skipped, NULL-terminated (may be NULL) */
	size_t n_warnings;
};

int sectioncfg_parse(const char *text, struct sectioncfg **ret);
/* Sections in order, properties in their stored order; values with CR/LF are refused
 * (-EINVAL) so no line can be injected. */
int sectioncfg_format(const struct sectioncfg *cfg, char **ret);
void sectioncfg_free(struct sectioncfg *cfg);

const struct section *sectioncfg_find(const struct sectioncfg *cfg, const char *id);
const char *section_get(const struct section *s, const char *key);
