/* The berth command: shared pieces of its verbs. */
#pragma once

#include "basic/error.h"
#include "basic/strbuf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

enum output_format { OUTPUT_TEXT, OUTPUT_JSON, OUTPUT_JSON_PRETTY };

struct cli {
	const char *root;
	enum output_format format;
	int fd; /* connection to <root>/run/api.sock, -1 until first use */
	uint64_t next_id;
};

struct cli_response {
	int status;
	char *message;
	json_t *body; /* parsed JSON body, or NULL */
	/* a body that is not JSON (a screenshot: image/png) as it came, else NULL */
	char *raw;
	size_t raw_len;
};

void cli_response_done(struct cli_response *r);

/* One API call over the root socket. params: object of string (or array of strings)
 * values; NULL for none. Returns 0 when a response arrived (any status), -errno when the
 * daemon could not be reached (message printed). */
int cli_call(struct cli *c, const char *method, const char *path, json_t *params,
             struct cli_response *ret);

/* cli_call that also requires status 200: returns 0 with *ret filled, or -1 after printing
 * the error (nothing to free then). Takes ownership of params (may be NULL). */
int cli_call_ok(struct cli *c, const char *method, const char *path, json_t *params,
                struct cli_response *ret);

/* Print a failed response pvesh-style to stderr: "<status> <message>" then parameter
 * errors, one "<name>: <message>" per line. */
void cli_print_error(const struct cli_response *r);

/* Print data in the chosen format; `columns` (may be NULL) orders table columns. */
void cli_print(const struct cli *c, json_t *data, const char *const *columns);

/* Follow a task until it ends, printing its log; returns 0 when it ended OK (or with
 * warnings), 1 when it failed. */
int cli_follow_task(struct cli *c, const char *upid, bool print_log);

int cmd_task(struct cli *c, int argc, char **argv);
int cmd_admin(struct cli *c, int argc, char **argv);
int cmd_template(struct cli *c, int argc, char **argv);
int cmd_ct(struct cli *c, int argc, char **argv);
int cmd_vm(struct cli *c, int argc, char **argv);
/* Usage text for an API path (every method), from the route table. */
int cmd_usage(const char *path, bool verbose, FILE *out);
const char *const *route_columns(const char *method, const char *path);
