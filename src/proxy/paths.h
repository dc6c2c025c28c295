/* Where a request goes, decided on its percent-decoded path: the API (forwarded to the root
 * daemon) or a static UI file; and what a static file may be named. Pure. */
#pragma once

#include "basic/macros.h"

#define PROXY_FORMAT_MAX 32

enum proxy_route {
	ROUTE_STATIC,
	ROUTE_API,           /* /api2/json[/...]: forward */
	ROUTE_API_NO_FORMAT, /* /api2 or /api2/ alone: 501 "no such uri" as PVE */
	ROUTE_API_FORMAT,    /* /api2/<other format>/...: 501 */
};

/* Classify a decoded path as pve-http-server does (base "/api2", then "/+<format>" with
 * format [a-z][a-z0-9]+). ret_format (PROXY_FORMAT_MAX bytes, may be NULL) receives the
 * format of ROUTE_API_FORMAT, truncated. */
enum proxy_route proxy_route_path(const char *decoded, char *ret_format);

/* True for the upload URL, /api2/json/nodes/<node>/storage/<storage>/upload (decoded, one
 * slash between segments): its multipart body is streamed to a file, not buffered. */
bool proxy_upload_path(const char *decoded);

/* True for a console websocket URL, /api2/json/nodes/<node>/(lxc|qemu)/<vmid>/vncwebsocket
 * (decoded, one slash between segments): with "Upgrade: websocket" it becomes a relay. */
bool proxy_console_path(const char *decoded);

/* The file a decoded static path names, relative to the www directory ("/" is
 * "index.html"), or NULL when the path is refused: segments "." and "..", empty segments,
 * hidden names, backslashes, control characters, or a trailing '/'. */
const char *static_relpath(const char *decoded);

/* Content type by file extension (case-insensitive); application/octet-stream otherwise. */
const char *static_content_type(const char *relpath);

/* index.html is revalidated on every load; /assets/ holds content-hashed names from the UI
 * build and is immutable. */
const char *static_cache_control(const char *relpath);

/* True when an Accept-Encoding value lets the answer be gzip ("gzip" or "*" listed without
 * q=0). Static files are sent from their precompressed name.gz copy then. */
bool http_accepts_gzip(const char *accept_encoding);
