/* Parameter schemas as data, and their validation with Proxmox VE's rules and error texts
 * (PVE::JSONSchema check_prop / check_type / check_object). One struct describes an API
 * parameter, a property-string key and a returned field alike. */
#pragma once

#include "basic/macros.h"
#include "basic/strbuf.h"

#include <jansson.h>
#include <stdint.h>

enum api_type {
	API_T_NONE = 0,
	API_T_STRING,
	API_T_INTEGER,
	API_T_NUMBER,
	API_T_BOOLEAN,
	API_T_ARRAY,
	API_T_OBJECT,
	API_T_NULL,
	API_T_ANY,
};

/* flags */
#define API_F_SECRET  (1u << 0) /* never logged, never echoed (passwords, secrets) */
#define API_F_HAS_MIN (1u << 1)
#define API_F_HAS_MAX (1u << 2)

struct api_schema {
	const char *name; /* NULL terminates a list */
	enum api_type type;
	/* Registered format name ("pve-node", "pve-vmid", ...), optionally with PVE's "-list"
	 * (split on , ; whitespace and check each) or "-opt" (empty allowed) suffix. */
	const char *format;
	/* Property string: the value is "k=v,..." over these keys (NULL-name terminated). */
	const struct api_schema *props;
	const struct api_schema *items;  /* array element schema */
	const char *pattern;             /* POSIX ERE, implicitly anchored ^...$ */
	const char *const *enums;        /* NULL-terminated */
	double minimum, maximum;         /* with API_F_HAS_MIN / API_F_HAS_MAX */
	unsigned min_length, max_length; /* 0 = unlimited */
	bool optional;
	bool default_key;         /* property strings: a bare value fills this key */
	const char *alias;        /* property strings: this key stands for another */
	const char *key_alias;    /* property strings: "model" for net's "<model>=<mac>" form */
	const char *requires;     /* another key that must be present with this one */
	const char *default_text; /* documentation of the default */
	const char *typetext;     /* documentation of the syntax */
	const char *description;
	unsigned flags;
};

/* ---- validation ---- */

/* Validate raw parameters (an object whose values are strings, arrays of strings, or JSON
 * scalars from a JSON body) against a NULL-name terminated schema list, with PVE's legacy
 * normalisation first (array joined for "-list" strings, scalar wrapped for arrays).
 * On success (0) *ret holds a new object of typed values: integers as JSON integers,
 * numbers as reals, booleans as integers 0/1, strings as strings, arrays as arrays.
 * On failure (-EINVAL) errors (an object) holds "<name>": "<PVE message>". */
int schema_validate(const struct api_schema *list, json_t *raw, json_t **ret, json_t *errors);

/* Check one scalar value against one schema (used for property-string keys and config
 * values). On failure appends PVE's message to *why and returns -EINVAL; on success *ret
 * (if non-NULL) is the typed value. path names the value in nested messages. */
int schema_check_value(const struct api_schema *s, const char *path, json_t *value, json_t **ret,
                       json_t *errors);

/* Look up a schema entry by name in a NULL-name terminated list. */
const struct api_schema *schema_find(const struct api_schema *list, const char *name);

/* The schema as JSON (for GET /berth/schema and docs): {type, format, optional, ...}. */
json_t *schema_to_json(const struct api_schema *s);

/* ---- named formats ---- */

/* A format checker: 0 when valid, else -EINVAL with the reason (PVE's text, ending "\n")
 * appended to why. */
typedef int (*format_check_fn)(const char *value, struct strbuf *why);

struct api_format {
	const char *name;
	format_check_fn check;          /* for plain formats */
	const struct api_schema *props; /* for property-string formats */
};

const struct api_format *format_lookup(const char *name);
/* Look up a format name that may carry PVE's "-list" or "-opt" suffix; the suffix found is
 * returned in *ret_list / *ret_opt when non-NULL. */
const struct api_format *format_lookup_suffixed(const char *format, bool *ret_list, bool *ret_opt);

/* ---- PVE helpers exposed for handlers and tests ---- */

/* PVE's split_list: split on NUL if present, else on runs of , ; and whitespace. Returns a
 * NULL-terminated array (free with strv_free). */
char **split_list(const char *text);
void strv_free(char **strv);
static inline void
strv_freep(char ***p)
{
	strv_free(*p);
}
/* Is s one of the NULL-terminated list? */
bool strv_contains(const char *const *strv, const char *s);
size_t strv_length(char *const *strv);

/* A scalar parameter value as the text PVE would see (numbers as %.15g, booleans 1/0);
 * NULL for arrays and objects. Caller frees. */
char *schema_scalar_text(json_t *v);

bool is_integer_text(const char *s);
bool is_number_text(const char *s);
/* PVE's parse_boolean: 1/on/yes/true and 0/off/no/false (any case); -1 otherwise. */
int parse_boolean_text(const char *s);

/* ---- convenient access to validated parameters ---- */

const char *param_str(const json_t *params, const char *name); /* NULL if absent */
int64_t param_int(const json_t *params, const char *name, int64_t def);
bool param_bool(const json_t *params, const char *name, bool def);
bool param_has(const json_t *params, const char *name);
