/* Unit tests: parameter validation with Proxmox VE's rules and error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/params.h"
#include "schema/schema.h"

#include <stdio.h>

static const char *const colors[] = { "red", "green", NULL };

static const struct api_schema params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "count",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 10,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX },
	{ .name = "ratio", .type = API_T_NUMBER, .optional = true },
	{ .name = "flag", .type = API_T_BOOLEAN, .optional = true },
	{ .name = "color", .type = API_T_STRING, .enums = colors, .optional = true },
	{ .name = "name",
	  .type = API_T_STRING,
	  .pattern = "[a-z]+",
	  .max_length = 8,
	  .optional = true },
	{ .name = "ids", .type = API_T_STRING, .format = "pve-vmid-list", .optional = true },
	{ .name = "path", .type = API_T_STRING, .optional = true, .requires = "privs" },
	{ .name = "privs", .type = API_T_STRING, .optional = true },
	{ .name = "mail", .type = API_T_STRING, .format = "email-opt", .optional = true },
	PARAM_END,
};

/* Validate params given as "k=v" strings; returns 0 or -EINVAL with *errors set. */
static int
run(json_t **out, json_t **errors, ...)
{
	json_t *raw = json_object();
	va_list ap;
	va_start(ap, errors);
	const char *kv;
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');
		char *k = strndup(kv, (size_t)(eq - kv));
		json_t *old = json_object_get(raw, k);
		if (old) { /* repeated key: array, as the urlencoded parser makes it */
			json_t *arr = json_is_array(old) ? json_incref(old) : json_pack("[O]", old);
			json_array_append_new(arr, json_string(eq + 1));
			json_object_set_new(raw, k, arr);
		} else {
			json_object_set_new(raw, k, json_string(eq + 1));
		}
		free(k);
	}
	va_end(ap);
	*errors = json_object();
	*out = NULL;
	int r = schema_validate(params, raw, out, *errors);
	json_decref(raw);
	return r;
}

static const char *
err(json_t *errors, const char *k)
{
	return json_string_value(json_object_get(errors, k));
}

static void
test_valid_parameters_come_out_typed(void **state)
{
	json_t *out, *errors;
	assert_int_equal(run(&out, &errors, "node=pve", "vmid=100", "count=+3", "ratio=0.5",
	                     "flag=1", "color=red", NULL),
	                 0);
	assert_true(json_is_integer(json_object_get(out, "vmid")));
	assert_int_equal(json_integer_value(json_object_get(out, "vmid")), 100);
	assert_int_equal(json_integer_value(json_object_get(out, "count")), 3);
	assert_true(json_is_real(json_object_get(out, "ratio")));
	assert_int_equal(json_integer_value(json_object_get(out, "flag")), 1);
	assert_string_equal(json_string_value(json_object_get(out, "node")), "pve");
	json_decref(out);
	json_decref(errors);
}

static void
test_missing_and_unknown_parameters_use_pve_texts(void **state)
{
	json_t *out, *errors;
	assert_int_equal(run(&out, &errors, "vmid=100", "bogus=1", NULL), -EINVAL);
	assert_string_equal(err(errors, "node"), "property is missing and it is not optional");
	assert_string_equal(err(errors, "bogus"), "property is not defined in schema and the "
	                                          "schema does not allow additional properties");
	json_decref(errors);
}

static void
test_type_checks_name_the_type_and_value(void **state)
{
	json_t *out, *errors;
	assert_int_equal(run(&out, &errors, "node=pve", "vmid=abc", "flag=true", "ratio=1e", NULL),
	                 -EINVAL);
	assert_string_equal(err(errors, "vmid"), "type check ('integer') failed - got 'abc'");
	assert_string_equal(err(errors, "flag"), "type check ('boolean') failed - got 'true'");
	assert_string_equal(err(errors, "ratio"), "type check ('number') failed - got '1e'");
	json_decref(errors);
}

static void
test_booleans_accept_only_0_and_1_at_top_level(void **state)
{
	static const char *const bad[] = { "True", "yes", "on", "2", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *out, *errors;
		char kv[32];
		snprintf(kv, sizeof(kv), "flag=%s", bad[i]);
		assert_int_equal(run(&out, &errors, "node=pve", "vmid=100", kv, NULL), -EINVAL);
		assert_non_null(err(errors, "flag"));
		json_decref(errors);
	}
}

static void
test_range_enum_pattern_and_length_refusals(void **state)
{
	json_t *out, *errors;
	assert_int_equal(run(&out, &errors, "node=pve", "vmid=99", "count=11", "color=blue",
	                     "name=ABC", NULL),
	                 -EINVAL);
	assert_string_equal(err(errors, "vmid"),
	                    "invalid format - value does not look like a valid VM ID\n");
	assert_string_equal(err(errors, "count"), "value must have a maximum value of 10");
	assert_string_equal(err(errors, "color"),
	                    "value 'blue' does not have a value in the enumeration 'red, green'");
	assert_string_equal(err(errors, "name"), "value does not match the regex pattern");
	json_decref(errors);
	assert_int_equal(run(&out, &errors, "node=pve", "vmid=100", "name=abcdefghi", NULL),
	                 -EINVAL);
	assert_string_equal(err(errors, "name"), "value may only be 8 characters long");
	json_decref(errors);
}

static void
test_format_errors_carry_the_format_reason(void **state)
{
	json_t *out, *errors;
	assert_int_equal(run(&out, &errors, "node=-bad", "vmid=100", "mail=x", NULL), -EINVAL);
	assert_string_equal(err(errors, "node"),
	                    "invalid format - value does not look like a valid node name\n");
	assert_string_equal(err(errors, "mail"),
	                    "invalid format - value does not look like a valid email address\n");
	json_decref(errors);
	/* -opt allows empty */
	assert_int_equal(run(&out, &errors, "node=pve", "vmid=100", "mail=", NULL), 0);
	json_decref(out);
	json_decref(errors);
}

static void
test_list_format_checks_each_element_and_joins_repeated_keys(void **state)
{
	json_t *out, *errors;
	assert_int_equal(run(&out, &errors, "node=pve", "vmid=100", "ids=100", "ids=101", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(out, "ids")), "100,101");
	json_decref(out);
	json_decref(errors);
	assert_int_equal(run(&out, &errors, "node=pve", "vmid=100", "ids=100 12", NULL), -EINVAL);
	assert_string_equal(err(errors, "ids"),
	                    "invalid format - value does not look like a valid VM ID\n");
	json_decref(errors);
}

static void
test_array_for_plain_string_fails_type_check(void **state)
{
	json_t *out, *errors;
	assert_int_equal(run(&out, &errors, "node=pve", "node=pve2", "vmid=100", NULL), -EINVAL);
	assert_string_equal(err(errors, "node"), "type check ('string') failed - got ARRAY");
	json_decref(errors);
}

static void
test_requires_is_reported_on_the_required_key(void **state)
{
	json_t *out, *errors;
	assert_int_equal(run(&out, &errors, "node=pve", "vmid=100", "path=/", NULL), -EINVAL);
	assert_string_equal(err(errors, "privs"), "missing property required by 'path'");
	json_decref(errors);
}

static void
test_json_scalars_validate_like_text(void **state)
{
	json_t *raw = json_pack("{s:s, s:i, s:b, s:f}", "node", "pve", "vmid", 100, "flag", 1,
	                        "ratio", 2.5);
	json_t *errors = json_object(), *out = NULL;
	assert_int_equal(schema_validate(params, raw, &out, errors), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "flag")), 1);
	json_decref(out);
	json_decref(raw);
	raw = json_pack("{s:s, s:b}", "node", "pve", "vmid", 1);
	assert_int_equal(schema_validate(params, raw, &out, errors), -EINVAL);
	assert_string_equal(err(errors, "vmid"),
	                    "type check ('integer') failed - got JSON::PP::Boolean");
	json_decref(raw);
	json_decref(errors);
}

static void
test_pve_number_and_integer_grammar(void **state)
{
	assert_true(is_integer_text("+12"));
	assert_true(is_integer_text("-0"));
	assert_false(is_integer_text("1.0"));
	assert_false(is_integer_text(""));
	assert_false(is_integer_text("+"));
	assert_true(is_number_text("1."));
	assert_true(is_number_text(".5"));
	assert_true(is_number_text("-1.5e+3"));
	assert_false(is_number_text("."));
	assert_false(is_number_text("1e"));
	assert_false(is_number_text("0x10"));
	assert_int_equal(parse_boolean_text("On"), 1);
	assert_int_equal(parse_boolean_text("FALSE"), 0);
	assert_int_equal(parse_boolean_text("2"), -1);
}

static void
test_split_list_uses_pve_separators(void **state)
{
	char **v = split_list(" mp0, mp1;mp2\tmp3 ");
	assert_int_equal(strv_length(v), 4);
	assert_string_equal(v[0], "mp0");
	assert_string_equal(v[3], "mp3");
	strv_free(v);
	v = split_list(",,;");
	assert_int_equal(strv_length(v), 0);
	strv_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_parameters_come_out_typed),
		cmocka_unit_test(test_missing_and_unknown_parameters_use_pve_texts),
		cmocka_unit_test(test_type_checks_name_the_type_and_value),
		cmocka_unit_test(test_booleans_accept_only_0_and_1_at_top_level),
		cmocka_unit_test(test_range_enum_pattern_and_length_refusals),
		cmocka_unit_test(test_format_errors_carry_the_format_reason),
		cmocka_unit_test(test_list_format_checks_each_element_and_joins_repeated_keys),
		cmocka_unit_test(test_array_for_plain_string_fails_type_check),
		cmocka_unit_test(test_requires_is_reported_on_the_required_key),
		cmocka_unit_test(test_json_scalars_validate_like_text),
		cmocka_unit_test(test_pve_number_and_integer_grammar),
		cmocka_unit_test(test_split_list_uses_pve_separators),
	};
	return cmocka_run_group_tests_name("api-schema", tests, NULL, NULL);
}
