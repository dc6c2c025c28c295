/* Property strings ("virtio=BC:24:11:2E:7A:1F,bridge=vmbr0,firewall=1") parsed and printed
 * as Proxmox VE does (parse_property_string / print_property_string). The keys are a
 * NULL-name terminated api_schema list; one key may be the default key (a bare value fills
 * it), keys may be aliases of others, and a key_alias lets "<model>=<mac>" mean
 * model=<model>,macaddr=<mac>. */
#pragma once

#include "schema/schema.h"

/* Parse text. On success *ret is an object of typed values under canonical key names (for a
 * key_alias form: the alias key holds the key name, e.g. "model":"virtio", and that key
 * holds the value). On failure returns -EINVAL and appends PVE's message to why: either one
 * line such as "invalid key in comma-separated list property: foo\n", or "format error\n"
 * followed by "<path>.<key>: <message>\n" lines. */
int propstr_parse(const struct api_schema *keys, const char *text, const char *path, json_t **ret,
                  struct strbuf *why);

/* Only check (no result). */
int propstr_check(const struct api_schema *keys, const char *text, const char *path,
                  struct strbuf *why);

/* Canonical text: default key first (in "<alias>=<value>" form when it has a key alias),
 * then required keys sorted, then the rest sorted; booleans as 0/1; "-list" arrays joined
 * with ';'. Caller frees. */
char *propstr_print(const struct api_schema *keys, const json_t *obj);

/* PVE's parse_size / format_size for "32G"-style disk sizes (K M G T, also KiB..TiB).
 * parse returns -EINVAL when malformed. */
int size_parse(const char *text, uint64_t *ret);
char *size_format(uint64_t bytes);
