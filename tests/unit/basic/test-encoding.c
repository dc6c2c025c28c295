/* Unit tests: hex, base64, percent-encoding and UTF-8 checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/encoding.h"

static void
test_base64_round_trips_every_length(void **state)
{
	unsigned char data[64], back[64];
	char text[128];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len < sizeof(data); len++) {
		size_t n = base64_encode(data, len, text);
		assert_int_equal(n, base64_encoded_len(len));
		ssize_t m = base64_decode(text, n, back);
		assert_int_equal(m, (ssize_t)len);
		assert_memory_equal(data, back, len);
	}
}

static void
test_base64_known_vectors_and_unpadded_input(void **state)
{
	char text[16];
	unsigned char out[16];
	base64_encode("foobar", 6, text);
	assert_string_equal(text, "Zm9vYmFy");
	base64_encode("fo", 2, text);
	assert_string_equal(text, "Zm8=");
	assert_int_equal(base64_decode("Zm8", 3, out), 2);
	assert_memory_equal(out, "fo", 2);
	assert_int_equal(base64_decode("Zm8*", 4, out), -EINVAL);
	assert_int_equal(base64_decode("Z", 1, out), -EINVAL);
}

static void
test_percent_decode_handles_plus_and_rejects_bad_escapes(void **state)
{
	char *out;
	size_t len;
	assert_int_equal(percent_decode("a+b%2Fc%3a", 10, true, &out, &len), 0);
	assert_string_equal(out, "a b/c:");
	free(out);
	assert_int_equal(percent_decode("a+b", 3, false, &out, &len), 0);
	assert_string_equal(out, "a+b");
	free(out);
	assert_int_equal(percent_decode("%00x", 4, false, &out, &len), 0);
	assert_int_equal(len, 2); /* NUL survives, the length tells */
	free(out);
	assert_int_equal(percent_decode("%4", 2, false, &out, &len), -EINVAL);
	assert_int_equal(percent_decode("%zz", 3, false, &out, &len), -EINVAL);
	assert_int_equal(percent_decode("abc%", 4, false, &out, &len), -EINVAL);
}

static void
test_percent_encode_keeps_unreserved_only(void **state)
{
	char *s = percent_encode("root@pam!tok en/x~y");
	assert_string_equal(s, "root%40pam%21tok%20en%2Fx~y");
	free(s);
}

static void
test_utf8_valid_rejects_overlong_surrogates_and_nul(void **state)
{
	assert_true(utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_valid("\xe2\x82", 2));         /* truncated */
	assert_false(utf8_valid("a\0b", 3));
	assert_false(utf8_valid("\xff", 1));
}

static void
test_hex_encodes_both_cases(void **state)
{
	char out[9];
	hex_encode("\x01\xab\xff\x10", 4, out);
	assert_string_equal(out, "01abff10");
	hex_encode_upper("\x01\xab\xff\x10", 4, out);
	assert_string_equal(out, "01ABFF10");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_round_trips_every_length),
		cmocka_unit_test(test_base64_known_vectors_and_unpadded_input),
		cmocka_unit_test(test_percent_decode_handles_plus_and_rejects_bad_escapes),
		cmocka_unit_test(test_percent_encode_keeps_unreserved_only),
		cmocka_unit_test(test_utf8_valid_rejects_overlong_surrogates_and_nul),
		cmocka_unit_test(test_hex_encodes_both_cases),
	};
	return cmocka_run_group_tests_name("basic-encoding", tests, NULL, NULL);
}
