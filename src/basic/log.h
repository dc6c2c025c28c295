/* Logging for process boundaries (main, API handlers, task workers). Library code returns
 * errors instead of logging. Lines go to stderr as "<level> <component>: <message>". */
#pragma once

#include "macros.h"

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_setup(const char *component, enum log_level max_level);
void log_msg(enum log_level level, const char *fmt, ...) _printf_(2, 3);

#define log_err(...)   log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
