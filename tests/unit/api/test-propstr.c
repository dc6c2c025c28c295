/* Unit tests: property strings parsed and printed as Proxmox VE does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/params.h"
#include "schema/propstr.h"

static const char *const models[] = { "virtio", "e1000", NULL };

/* a cut-down QEMU netN: "<model>=<mac>" via key aliases, as qemu-server declares it */
static const struct api_schema net[] = {
	{ .name = "model", .type = API_T_STRING, .enums = models, .default_key = true },
	{ .name = "macaddr", .type = API_T_STRING, .format = "mac-addr", .optional = true },
	{ .name = "virtio",
	  .type = API_T_STRING,
	  .alias = "macaddr",
	  .key_alias = "model",
	  .optional = true },
	{ .name = "e1000",
	  .type = API_T_STRING,
	  .alias = "macaddr",
	  .key_alias = "model",
	  .optional = true },
	{ .name = "bridge", .type = API_T_STRING, .format = "pve-bridge-id", .optional = true },
	{ .name = "firewall", .type = API_T_BOOLEAN, .optional = true },
	{ .name = "tag",
	  .type = API_T_INTEGER,
	  .minimum = 1,
	  .maximum = 4094,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .optional = true },
	PARAM_END,
};

static const struct api_schema disk[] = {
	{ .name = "file", .type = API_T_STRING, .default_key = true },
	{ .name = "size", .type = API_T_STRING, .format = "disk-size", .optional = true },
	{ .name = "mp", .type = API_T_STRING },
	PARAM_END,
};

static json_t *
parse_ok(const struct api_schema *keys, const char *text)
{
	json_t *out = NULL;
	struct strbuf why = STRBUF_INIT;
	int r = propstr_parse(keys, text, "net0", &out, &why);
	if (r < 0)
		fail_msg("'%s' refused: %s", text, sb_str(&why));
	sb_free(&why);
	return out;
}

static char *
parse_error(const struct api_schema *keys, const char *text)
{
	struct strbuf why = STRBUF_INIT;
	json_t *out = NULL;
	assert_int_equal(propstr_parse(keys, text, "net0", &out, &why), -EINVAL);
	assert_null(out);
	return sb_steal(&why);
}

static void
test_model_equals_mac_sets_model_and_macaddr(void **state)
{
	json_t *o = parse_ok(net, "virtio=BC:24:11:2E:7A:1F,bridge=vmbr0,firewall=on");
	assert_string_equal(json_string_value(json_object_get(o, "model")), "virtio");
	assert_string_equal(json_string_value(json_object_get(o, "macaddr")), "BC:24:11:2E:7A:1F");
	assert_int_equal(json_integer_value(json_object_get(o, "firewall")), 1);
	json_decref(o);
}

static void
test_bare_value_fills_the_default_key(void **state)
{
	json_t *o = parse_ok(net, "virtio,bridge=vmbr0");
	assert_string_equal(json_string_value(json_object_get(o, "model")), "virtio");
	assert_null(json_object_get(o, "macaddr"));
	json_decref(o);
}

static void
test_canonical_print_puts_model_mac_first_then_sorted(void **state)
{
	json_t *o = parse_ok(net, "tag=77,bridge=vmbr0,firewall=yes,e1000=BC:24:11:79:D5:65");
	char *s = propstr_print(net, o);
	assert_string_equal(s, "e1000=BC:24:11:79:D5:65,bridge=vmbr0,firewall=1,tag=77");
	/* round trip */
	json_t *again = parse_ok(net, s);
	assert_true(json_equal(o, again));
	free(s);
	json_decref(o);
	json_decref(again);
}

static void
test_required_keys_print_after_the_default_key(void **state)
{
	json_t *o = parse_ok(disk, "size=32G,mp=/srv,local:vm-100-disk-1");
	char *s = propstr_print(disk, o);
	assert_string_equal(s, "local:vm-100-disk-1,mp=/srv,size=32G");
	free(s);
	json_decref(o);
}

static void
test_pve_refusals_have_pve_texts(void **state)
{
	struct {
		const char *text, *msg;
	} cases[] = {
		{ "virtio,bogus=1", "invalid key in comma-separated list property: bogus\n" },
		{ "virtio,bridge=a,bridge=b",
		  "duplicate key in comma-separated list property: bridge\n" },
		{ "virtio,e1000", "duplicate key in comma-separated list property: model\n" },
		{ "virtio=BC:24:11:2E:7A:1F,macaddr=BC:24:11:2E:7A:10",
		  "duplicate key in comma-separated list property: macaddr\n" },
		{ "macaddr=BC:24:11:2E:7A:10,virtio=BC:24:11:2E:7A:1F",
		  "key 'macaddr' is already defined (via alias)\n" },
		{ "virtio,bridge=", "missing key in comma-separated list property\n" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *m = parse_error(net, cases[i].text);
		assert_string_equal(m, cases[i].msg);
		free(m);
	}
}

static void
test_value_errors_are_listed_under_format_error(void **state)
{
	char *m = parse_error(net, "virtio,tag=5000,bridge=vm br");
	assert_string_equal(m, "format error\n"
	                       "net0.bridge: invalid format - invalid bridge ID 'vm br'\n\n"
	                       "net0.tag: value must have a maximum value of 4094\n");
	free(m);
	m = parse_error(net, "bridge=vmbr0");
	assert_string_equal(
	        m, "format error\nnet0.model: property is missing and it is not optional\n");
	free(m);
}

static void
test_unicast_mac_is_required(void **state)
{
	char *m = parse_error(net, "virtio=01:00:5E:00:00:01");
	assert_true(strstr(m, "valid unicast MAC address") != NULL);
	free(m);
}

static void
test_sizes_parse_and_format_like_pve(void **state)
{
	uint64_t v;
	assert_int_equal(size_parse("32G", &v), 0);
	assert_true(v == 32ull << 30);
	assert_int_equal(size_parse("1.5M", &v), 0);
	assert_true(v == 1572864);
	assert_int_equal(size_parse("4KiB", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(size_parse("12", &v), 0);
	assert_true(v == 12);
	assert_int_equal(size_parse("1.G", &v), -EINVAL);
	assert_int_equal(size_parse("G", &v), -EINVAL);
	assert_int_equal(size_parse("3P", &v), -EINVAL);
	struct {
		uint64_t bytes;
		const char *text;
	} f[] = { { 32ull << 30, "32G" }, { 512ull << 20, "512M" }, { 707456ull << 10, "707456K" },
		  { 1000, "1000" },       { 2ull << 40, "2T" },     { 0, "0T" } };
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		char *s = size_format(f[i].bytes);
		assert_string_equal(s, f[i].text);
		free(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_equals_mac_sets_model_and_macaddr),
		cmocka_unit_test(test_bare_value_fills_the_default_key),
		cmocka_unit_test(test_canonical_print_puts_model_mac_first_then_sorted),
		cmocka_unit_test(test_required_keys_print_after_the_default_key),
		cmocka_unit_test(test_pve_refusals_have_pve_texts),
		cmocka_unit_test(test_value_errors_are_listed_under_format_error),
		cmocka_unit_test(test_unicast_mac_is_required),
		cmocka_unit_test(test_sizes_parse_and_format_like_pve),
	};
	return cmocka_run_group_tests_name("api-propstr", tests, NULL, NULL);
}
