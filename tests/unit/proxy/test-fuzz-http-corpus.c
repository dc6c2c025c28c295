/* Replays fuzz/corpus/http-request through the libFuzzer harness (built here with gcc, so
 * the corpus runs on every `make test`; the harness traps on any broken promise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
test_every_corpus_input_passes_the_harness(void **state)
{
	DIR *d = opendir(FUZZ_CORPUS_DIR);
	assert_non_null(d);
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", FUZZ_CORPUS_DIR, de->d_name);
		char *data;
		size_t len;
		assert_int_equal(read_file(path, 1 << 20, &data, &len), 0);
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		free(data);
		n++;
	}
	closedir(d);
	/* an emptied corpus must not pass silently */
	assert_true(n >= 24);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_corpus_input_passes_the_harness),
	};
	return cmocka_run_group_tests_name("proxy-fuzz-http-corpus", tests, NULL, NULL);
}
