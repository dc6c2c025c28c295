/* Golden files for unit tests (tests/golden/<driver>/): every <name>.conf in a directory is
 * an input; the expected output sits next to it and is compared byte for byte, or rewritten
 * when BERTH_GOLDEN_UPDATE=1 (then review the diff). Include after cmocka.h. */
#pragma once

#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Compare got with the file at want_path (or rewrite it). */
static inline void
golden_check(const char *want_path, const char *got)
{
	const char *update = getenv("BERTH_GOLDEN_UPDATE");
	if (update && streq(update, "1")) {
		assert_int_equal(write_file_atomic(want_path, got, strlen(got), 0644), 0);
		return;
	}
	_cleanup_free_ char *want = NULL;
	if (read_file(want_path, 1u << 20, &want, NULL) < 0)
		fail_msg("%s missing (run with BERTH_GOLDEN_UPDATE=1 and review)", want_path);
	if (!streq(got, want))
		fail_msg("%s differs; got:\n%s", want_path, got);
}

/* Call fn with the name (without ".conf") of every <name>.conf in dir; asserts at least
 * min_cases were there, so a lost directory cannot pass as an empty one. */
static inline void
golden_each_conf(const char *dir, void (*fn)(const char *name), unsigned min_cases)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	unsigned n = 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || !streq(de->d_name + len - 5, ".conf"))
			continue;
		_cleanup_free_ char *name = xstrndup(de->d_name, len - 5);
		fn(name);
		n++;
	}
	closedir(d);
	assert_true(n >= min_cases);
}
