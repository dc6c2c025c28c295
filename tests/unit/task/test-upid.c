/* Unit tests: UPID parsing and encoding as PVE::UPID does it, and task log paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/strbuf.h"
#include "task/upid.h"

static void
assert_round_trip(const char *text)
{
	struct upid u;
	char *again = NULL;
	assert_int_equal(upid_parse(text, &u), 0);
	assert_int_equal(upid_format(&u, &again), 0);
	assert_string_equal(again, text);
	free(again);
}

static void
test_upid_parse_reference_example(void **state)
{
	struct upid u;
	assert_int_equal(
	        upid_parse("UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:", &u), 0);
	assert_string_equal(u.node, "pve1");
	assert_int_equal(u.pid, 0x3A6F2);
	assert_int_equal(u.pstart, 0x01B2C3D4);
	assert_int_equal(u.starttime, 0x66B1F0A2);
	assert_string_equal(u.type, "qmcreate");
	assert_string_equal(u.id, "100");
	assert_string_equal(u.user, "root@pam");
	assert_round_trip("UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:");
}

/* The cases of pve-common's test/upid-test.pl. */
static void
test_upid_parse_pve_test_suite_cases(void **state)
{
	struct upid u;
	assert_int_equal(
	        upid_parse("UPID:example-node:0000C346:165A0CE4:68D7279C:aptupdate::root@pam:", &u),
	        0);
	assert_string_equal(u.node, "example-node");
	assert_int_equal(u.pid, 49990);
	assert_int_equal(u.pstart, 375000292ULL);
	assert_int_equal(u.starttime, 1758930844);
	assert_string_equal(u.type, "aptupdate");
	assert_string_equal(u.id, "");
	assert_string_equal(u.user, "root@pam");

	assert_int_equal(
	        upid_parse("UPID:example-node:000934AF:0D015579:68BF3A41:hastart:100:root@pam:",
	                   &u),
	        0);
	assert_int_equal(u.pid, 603311);
	assert_int_equal(u.pstart, 218191225ULL);
	assert_int_equal(u.starttime, 1757362753);

	assert_int_equal(upid_parse("UPID:example-node:000934AF:0D015579:68BF3A41:vzdump:100:"
	                            "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token:",
	                            &u),
	                 0);
	assert_string_equal(u.user, "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token");

	assert_int_equal(upid_parse("UPID:example-node:000934AF:FFFFFFFFF:68BF3A41:"
	                            "fake-but-valid-type:100:root@pam:",
	                            &u),
	                 0);
	assert_int_equal(u.pstart, 68719476735ULL);
	assert_string_equal(u.type, "fake-but-valid-type");

	assert_int_equal(upid_parse("UPID:example-node:000934AF:0D015579:68BF3A41:broken type "
	                            "string:100:root@pam:",
	                            &u),
	                 -EINVAL);
	assert_int_equal(upid_parse("invalid garbage", &u), -EINVAL);

	assert_round_trip("UPID:example-node:0000C346:165A0CE4:68D7279C:aptupdate::root@pam:");
	assert_round_trip("UPID:example-node:000934AF:0D015579:68BF3A41:hastart:100:root@pam:");
	assert_round_trip("UPID:example-node:000934AF:0D015579:68BF3A41:vzdump:100:"
	                  "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token:");
	assert_round_trip(
	        "UPID:example-node:000934AF:FFFFFFFFF:68BF3A41:fake-but-valid-type:100:root@pam:");
}

static void
test_upid_token_user_and_empty_id_round_trip(void **state)
{
	struct upid u;
	assert_int_equal(
	        upid_parse("UPID:pve1:0003A700:01B2C3E0:66B1F0B0:vzstart:101:root@pam!ansible:",
	                   &u),
	        0);
	assert_string_equal(u.user, "root@pam!ansible");
	assert_round_trip("UPID:pve1:0003A700:01B2C3E0:66B1F0B0:vzstart:101:root@pam!ansible:");
	assert_round_trip("UPID:n:00000001:00000000:00000000:aptupdate::root@pam:");
}

static void
test_upid_format_pads_and_uses_upper_hex(void **state)
{
	struct upid u = { .pid = 0xabc,
		          .pstart = 0x1d,
		          .starttime = 0x5f,
		          .node = "node-1",
		          .type = "vzcreate",
		          .id = "",
		          .user = "joe@pve!tok" };
	char *s = NULL;
	assert_int_equal(upid_format(&u, &s), 0);
	assert_string_equal(s, "UPID:node-1:00000ABC:0000001D:0000005F:vzcreate::joe@pve!tok:");
	free(s);

	u.pstart = 0x123456789ULL; /* more than 32 bits: the ninth digit appears */
	assert_int_equal(upid_format(&u, &s), 0);
	assert_string_equal(s, "UPID:node-1:00000ABC:123456789:0000005F:vzcreate::joe@pve!tok:");
	free(s);
}

static void
test_upid_parse_accepts_lower_case_hex(void **state)
{
	struct upid u;
	assert_int_equal(
	        upid_parse("UPID:pve1:0003a6f2:01b2c3d4:66b1f0a2:qmcreate:100:root@pam:", &u), 0);
	assert_int_equal(u.pid, 0x3A6F2);
	assert_int_equal(u.pstart, 0x01B2C3D4);
	assert_int_equal(u.starttime, 0x66B1F0A2);
	/* formatting normalizes to PVE's upper case */
	char *s = NULL;
	assert_int_equal(upid_format(&u, &s), 0);
	assert_string_equal(s, "UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:");
	free(s);
}

static void
test_upid_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"UPID:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam",    /* no trailing : */
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:\n", /* trailing LF */
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam::",  /* extra field */
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:x",
		"upid:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		" UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:",  /* no user */
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2::100:root@pam:", /* empty type */
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100::", /* empty user */
		/* node names: PVE's [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
		"UPID::0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:-pve:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve-:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pv_e:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve.example.com:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve 1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		/* hex widths: pid 8, pstart 8-9, starttime 8 */
		"UPID:pve1:003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve1:00003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve1:0003A6F2:1B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve1:0003A6F2:0001B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve1:0003A6F2:01B2C3D4:066B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve1:0003A6G2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve1:0x03A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		"UPID:pve1:+003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
		/* fields with '/', whitespace */
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qm/create:100:root@pam:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:../100:root@pam:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam/x:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:1 0:root@pam:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root\t@pam:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qm\rcreate:100:root@pam:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:10\v0:root@pam:",
		"UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam\f:",
		/* a pid that no process can have */
		"UPID:pve1:80000000:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct upid u;
		if (upid_parse(bad[i], &u) != -EINVAL)
			fail_msg("accepted malformed UPID #%zu '%s'", i, bad[i]);
	}
	struct upid u;
	assert_int_equal(upid_parse(NULL, &u), -EINVAL);
}

static void
test_upid_parse_rejects_fields_over_limits(void **state)
{
	_cleanup_free_ char *node = xcalloc(1, UPID_NODE_MAX + 2);
	memset(node, 'a', UPID_NODE_MAX + 1);
	_cleanup_free_ char *s1 = xasprintf("UPID:%s:00000001:00000001:00000001:t::u@pam:", node);
	node[UPID_NODE_MAX] = '\0';
	_cleanup_free_ char *s2 = xasprintf("UPID:%s:00000001:00000001:00000001:t::u@pam:", node);
	struct upid u;
	assert_int_equal(upid_parse(s1, &u), -EINVAL);
	assert_int_equal(upid_parse(s2, &u), 0);
	assert_int_equal(strlen(u.node), UPID_NODE_MAX);
}

static void
test_upid_format_rejects_unencodable_fields(void **state)
{
	struct upid base = { .pid = 1,
		             .pstart = 1,
		             .starttime = 1,
		             .node = "pve",
		             .type = "qmstart",
		             .id = "100",
		             .user = "root@pam" };
	struct upid u;
	char *s = NULL;

	static const char *const bad_fields[] = { "a:b", "a/b", "a b", "a\tb", "a\nb", "a\rb" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_fields); i++) {
		u = base;
		strcpy(u.type, bad_fields[i]);
		assert_int_equal(upid_format(&u, &s), -EINVAL);
		u = base;
		strcpy(u.id, bad_fields[i]);
		assert_int_equal(upid_format(&u, &s), -EINVAL);
		u = base;
		strcpy(u.user, bad_fields[i]);
		assert_int_equal(upid_format(&u, &s), -EINVAL);
		u = base;
		strcpy(u.node, bad_fields[i]);
		assert_int_equal(upid_format(&u, &s), -EINVAL);
	}
	u = base;
	u.type[0] = '\0';
	assert_int_equal(upid_format(&u, &s), -EINVAL);
	u = base;
	u.user[0] = '\0';
	assert_int_equal(upid_format(&u, &s), -EINVAL);
	u = base;
	strcpy(u.node, "-pve");
	assert_int_equal(upid_format(&u, &s), -EINVAL);
	u = base;
	u.pstart = 0x1000000000ULL; /* ten hex digits would not parse back */
	assert_int_equal(upid_format(&u, &s), -EINVAL);
	u = base;
	u.pid = -1;
	assert_int_equal(upid_format(&u, &s), -EINVAL);
	u = base;
	u.starttime = (time_t)0x100000000LL;
	assert_int_equal(upid_format(&u, &s), -EINVAL);
	assert_null(s);
}

static void
test_upid_log_relpath_uses_last_starttime_digit_upper_case(void **state)
{
	char *p = upid_log_relpath("UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:",
	                           NULL);
	assert_string_equal(p, "2/UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam:");
	free(p);

	struct upid u;
	const char *t = "UPID:pve1:0003A6F2:01B2C3D4:66B1F0AB:qmcreate:100:root@pam:";
	assert_int_equal(upid_parse(t, &u), 0);
	p = upid_log_relpath(t, &u);
	assert_string_equal(p, "B/UPID:pve1:0003A6F2:01B2C3D4:66B1F0AB:qmcreate:100:root@pam:");
	free(p);

	/* the directory is always upper case; the file keeps the text as given */
	p = upid_log_relpath("UPID:pve1:0003a6f2:01b2c3d4:66b1f0ac:qmcreate:100:root@pam:", NULL);
	assert_string_equal(p, "C/UPID:pve1:0003a6f2:01b2c3d4:66b1f0ac:qmcreate:100:root@pam:");
	free(p);
}

static void
test_upid_log_relpath_refuses_invalid_text(void **state)
{
	assert_null(upid_log_relpath("../../etc/passwd", NULL));
	assert_null(upid_log_relpath("UPID:pve1:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:../x:root@pam:",
	                             NULL));
	assert_null(upid_log_relpath(NULL, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upid_parse_reference_example),
		cmocka_unit_test(test_upid_parse_pve_test_suite_cases),
		cmocka_unit_test(test_upid_token_user_and_empty_id_round_trip),
		cmocka_unit_test(test_upid_format_pads_and_uses_upper_hex),
		cmocka_unit_test(test_upid_parse_accepts_lower_case_hex),
		cmocka_unit_test(test_upid_parse_rejects_malformed),
		cmocka_unit_test(test_upid_parse_rejects_fields_over_limits),
		cmocka_unit_test(test_upid_format_rejects_unencodable_fields),
		cmocka_unit_test(test_upid_log_relpath_uses_last_starttime_digit_upper_case),
		cmocka_unit_test(test_upid_log_relpath_refuses_invalid_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
