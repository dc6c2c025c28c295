/* Running a helper program without a shell: its output captured or handed over line by
 * line, its failure turned into an error message a person can read. */
#pragma once

#include "basic/error.h"

#include <stddef.h>

#define RUN_OUT_MAX  (16u << 20) /* default cap of captured stdout */
#define RUN_LINE_MAX (64u << 10) /* an unfinished line longer than this is handed over as is */

struct run_options {
	/* NULL-terminated; argv[0] is looked up in PATH unless path is set */
	const char *const *argv;
	/* the program file to execute; NULL: search argv[0] in PATH */
	const char *path;
	/* the child's whole environment, NULL-terminated; NULL: this process's */
	const char *const *envp;

	/* stdout goes to out_line when set, else into run_program's *ret_out (at most out_max
	 * bytes, RUN_OUT_MAX when 0; more is dropped), else nowhere */
	void (*out_line)(const char *line, void *userdata);
	size_t out_max;
	/* stderr goes to err_line when set: on failure the last line of stderr (of stdout when
	 * stderr was silent) ends the "exit code" message. When NULL, stderr is collected and,
	 * tidied to one line, ends every failure message. */
	void (*err_line)(const char *line, void *userdata);
	/* Lines end at '\n'; a '\r' inside one redraws it (only the text after the last '\r' is
	 * handed over) unless cr_ends_line, where '\r' ends a line too (progress output). Lines
	 * lose trailing blanks; empty lines are skipped. */
	bool cr_ends_line;

	/* Polled while the program runs: once true, the child gets SIGTERM, then SIGKILL after a
	 * grace period, and run_program fails with -EINTR "received interrupt". */
	bool (*should_stop)(void *userdata);
	void *userdata;
};

/* Run o->argv to completion; stdin is /dev/null and the child starts with an empty signal
 * mask and default dispositions. Returns 0 on exit code 0 (with *ret_out set when given and
 * stdout is not delivered as lines; "" when there was none). Otherwise -EIO with
 * "<argv0> failed (exit code N)[: detail]" or "<argv0> killed by signal N[: detail]", or
 * -errno "unable to run <argv0>" when it could not start. */
int run_program(const struct run_options *o, char **ret_out, struct error *err);
