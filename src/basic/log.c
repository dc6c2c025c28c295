/* Logging to stderr for process boundaries. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char *log_component = "berth";
static enum log_level log_max = LOG_LEVEL_INFO;

void
log_setup(const char *component, enum log_level max_level)
{
	log_component = component;
	log_max = max_level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	if (level > log_max)
		return;

	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	int n = (int)strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, " %s %s[%d]: ", names[level],
	              log_component, (int)getpid());
	va_list ap;
	va_start(ap, fmt);
	if (n < (int)sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line so concurrent processes do not interleave */
	size_t len = strnlen(line, sizeof(line) - 2);
	line[len++] = '\n';
	ssize_t r = write(STDERR_FILENO, line, len);
	(void)r;
}
