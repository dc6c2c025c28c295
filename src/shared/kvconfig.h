/* Proxmox VE's simple config files ("key: value" lines, the description as leading '#'
 * lines with PVE's text encoding), e.g. nodes/<node>/config and datacenter.cfg. Guest
 * configs, which add sections, have their own parser. */
#pragma once

#include "basic/macros.h"

#include <jansson.h>

/* Parse text into an object of strings; the description (if any) under "description",
 * lines joined with "\n". Unparsable lines are skipped. */
json_t *kvconfig_parse(const char *text);

/* Format: description first as '#' lines, then the other keys sorted as "key: value".
 * Values that are not strings are printed as JSON scalars. Returns NULL (and names the key
 * in *ret_bad_key) when a value contains a newline. Caller frees. */
char *kvconfig_format(const json_t *conf, const char **ret_bad_key);
