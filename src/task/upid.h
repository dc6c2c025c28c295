/* UPIDs exactly as Proxmox VE encodes them:
 *     UPID:<node>:<PID 8 hex>:<PSTART 8-9 hex>:<STARTTIME 8 hex>:<type>:<id>:<user>:
 * upper-case hex, trailing colon, id may be empty, user may carry "!tokenid". */
#pragma once

#include "basic/macros.h"

#include <sys/types.h>
#include <time.h>

#define UPID_NODE_MAX 64
#define UPID_TYPE_MAX 64
#define UPID_ID_MAX   128
#define UPID_USER_MAX 128

struct upid {
	char node[UPID_NODE_MAX + 1];
	pid_t pid;
	unsigned long long pstart;
	time_t starttime;
	char type[UPID_TYPE_MAX + 1];
	char id[UPID_ID_MAX + 1];
	char user[UPID_USER_MAX + 1]; /* user@realm or user@realm!tokenid */
};

/* Parse with PVE's regex (hex digits of either case); -EINVAL when it does not match. Also
 * refused: a trailing newline (Perl's `$` allows one), a pid above INT_MAX and fields longer
 * than the UPID_*_MAX limits. */
int upid_parse(const char *s, struct upid *ret);
/* Caller frees. -EINVAL unless the result parses back to the same fields (a field containing
 * ':', whitespace or '/', an empty type or user, a bad node name, pstart above 9 hex digits). */
int upid_format(const struct upid *u, char **ret);
/* The task log's path relative to the task directory: "<last hex digit of starttime, upper
 * case>/<upid>". upid_text is validated (it becomes a file name): NULL if it does not parse.
 * u may be NULL; the directory always comes from the text. */
char *upid_log_relpath(const char *upid_text, const struct upid *u);
