/* Helpers shared by the task module's files (log lines, final status); not for other modules. */
#pragma once

#include "basic/macros.h"

enum task_final {
	TASK_FINAL_NONE, /* not a final line: "unexpected status" */
	TASK_FINAL_OK,
	TASK_FINAL_WARNINGS,
	TASK_FINAL_ERROR,
};

/* Classify one log line as PVE's read_status does. With ret_status, also return the status
 * text ("OK", "WARNINGS: n", the error message; "unexpected status" for TASK_FINAL_NONE). */
enum task_final task_line_final(const char *line, char **ret_status);

/* The last line of an open file as PVE's file_read_last_line: one trailing newline is
 * ignored, "" for an empty file. Reads backwards, so large logs cost one chunk. */
int task_fd_last_line(int fd, char **ret);

/* Write `line` plus a newline as one write at the end of fd, preceded by a newline when the
 * file's last byte is not one, so a final status never joins a partial line. */
int task_fd_append_line(int fd, const char *line);

/* A message fit for one log line: CR/LF inside become spaces, trailing ones are dropped, and
 * non-ASCII bytes become '?' unless the message is valid UTF-8. */
char *task_one_line(const char *msg);

/* Lines [start, start+limit) of a log (limit 0: to the end, as PVE's dump_logfile) without
 * their newlines, NULL-terminated; *ret_total counts every line. */
int task_log_read_lines(const char *path, size_t start, size_t limit, char ***ret_lines,
                        size_t *ret_total);
