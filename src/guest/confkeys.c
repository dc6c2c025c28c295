/* Plain and indexed config keys, shared by the container and VM drivers. */
#include "guest/confkeys.h"

#include "basic/macros.h"

#include <stdio.h>

const struct api_schema confkey_startup_props[] = {
	{ .name = "order",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .default_key = true,
	  .description = "Startup order (lower starts first)." },
	{ .name = "up",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Delay in seconds to wait after starting." },
	{ .name = "down",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Timeout in seconds for shutting down." },
	{ .name = NULL },
};

bool
confkey_index(const char *key, const char *prefix, unsigned count, unsigned *ret)
{
	size_t plen = strlen(prefix);
	if (strncmp(key, prefix, plen) != 0)
		return false;
	const char *p = key + plen;
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || p[digits] || (p[0] == '0' && digits > 1) || digits > 3)
		return false;
	unsigned n = (unsigned)atoi(p);
	if (n >= count)
		return false;
	if (ret)
		*ret = n;
	return true;
}

const struct confkey_family *
confkeys_family(const struct confkeys *k, const char *key, unsigned *ret_index)
{
	for (size_t g = 0; g < k->n_families; g++)
		if (confkey_index(key, k->families[g].prefix, k->families[g].count, ret_index))
			return &k->families[g];
	return NULL;
}

const struct api_schema *
confkeys_all(struct confkeys *k)
{
	if (k->all[0].name)
		return k->all;
	size_t n = 0, m = 0;
	for (size_t i = 0; k->plain[i].name; i++)
		k->all[n++] = k->plain[i];
	for (size_t g = 0; g < k->n_families; g++)
		for (unsigned i = 0; i < k->families[g].count; i++, m++) {
			snprintf(k->names[m], CONFKEY_NAME_MAX, "%s%u", k->families[g].prefix, i);
			k->all[n] = *k->families[g].tmpl;
			k->all[n++].name = k->names[m];
		}
	k->all[n].name = NULL;
	return k->all;
}

const struct api_schema *
confkeys_find(const struct confkeys *k, const char *key)
{
	const struct api_schema *s = schema_find(k->plain, key);
	if (s)
		return s;
	const struct confkey_family *f = confkeys_family(k, key, NULL);
	return f ? f->tmpl : NULL;
}
