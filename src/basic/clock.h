/* Monotonic time for deadlines and rates (never wall-clock time: that can jump). */
#pragma once

#include <stdint.h>
#include <time.h>

static inline int64_t
monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
monotonic_ms(void)
{
	return monotonic_ns() / 1000000;
}
