/* Request parameters as Proxmox VE's HTTP server reads them: urlencoded pairs split on & or ;,
 * '+' as space, %XX decoded, values UTF-8, a repeated key becomes an array; JSON bodies as
 * objects; query parameters override body parameters. */
#pragma once

#include "basic/error.h"

#include <jansson.h>

/* Add the pairs of an urlencoded text to obj. A key without '=' gets JSON null (PVE keeps
 * it undefined). -EINVAL (with err) on bad escapes or invalid UTF-8. */
int urlencoded_parse(const char *text, size_t len, json_t *obj, struct error *err);

/* Parse a JSON body into a new object; -EINVAL (with err) when it is not a JSON object. */
int json_body_parse(const char *body, size_t len, json_t **ret, struct error *err);

/* The media type of a Content-Type value, lower-cased, without parameters. Caller frees. */
char *content_type_base(const char *value);

/* PVE's extract_auth_value: in a Cookie or Authorization header, the text after `key` followed
 * by '=' or ' ' (key at the start or after whitespace) up to ';', URL-unescaped; NULL if
 * absent. Caller frees. */
char *auth_value(const char *header, const char *key);
