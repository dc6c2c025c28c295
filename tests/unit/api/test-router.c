/* Unit tests: path routing over the real route table, and request parameter parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/request.h"
#include "api/route.h"

#include <stdio.h>

static struct api_router *router;

static int
setup(void **state)
{
	struct error err = { 0 };
	return api_router_new(&router, &err);
}

static int
teardown(void **state)
{
	api_router_free(router);
	return 0;
}

static const struct api_route *
match(enum api_method m, const char *path, json_t **params, bool *exists)
{
	*params = json_object();
	return api_router_match(router, m, path, *params, exists);
}

static void
test_literal_and_parameter_segments_match(void **state)
{
	json_t *p;
	bool exists;
	const struct api_route *rt = match(API_GET, "/nodes/pve/status", &p, &exists);
	assert_non_null(rt);
	assert_string_equal(rt->path, "/nodes/{node}/status");
	assert_string_equal(json_string_value(json_object_get(p, "node")), "pve");
	json_decref(p);
}

static void
test_upids_route_raw_with_colons_and_bang(void **state)
{
	json_t *p;
	bool exists;
	const char *upid = "UPID:pve:0003A6F2:01B2C3D4:66B1F0A2:qmcreate:100:root@pam!tok:";
	char path[256];
	snprintf(path, sizeof(path), "/nodes/pve/tasks/%s/status", upid);
	const struct api_route *rt = match(API_GET, path, &p, &exists);
	assert_non_null(rt);
	assert_string_equal(json_string_value(json_object_get(p, "upid")), upid);
	json_decref(p);
}

static void
test_slashes_are_collapsed_and_trailing_slash_ignored(void **state)
{
	json_t *p;
	bool exists;
	assert_non_null(match(API_GET, "//cluster///resources/", &p, &exists));
	json_decref(p);
}

static void
test_wrong_method_reports_existing_path(void **state)
{
	json_t *p;
	bool exists = false;
	assert_null(match(API_DELETE, "/version", &p, &exists));
	assert_true(exists);
	json_decref(p);
	assert_null(match(API_GET, "/nodes/pve/nonsense", &p, &exists));
	assert_false(exists);
	json_decref(p);
}

static void
test_every_route_is_found_by_its_own_path(void **state)
{
	api_routes_foreach(rt)
	{
		/* fill parameters with sample values */
		char path[512] = "";
		for (const char *s = rt->path; *s;) {
			if (*s == '{') {
				strcat(path, "x1");
				s = strchr(s, '}') + 1;
			} else {
				strncat(path, s, 1);
				s++;
			}
		}
		json_t *p;
		bool exists;
		const struct api_route *got = match(rt->method, path, &p, &exists);
		if (got != rt)
			fail_msg("%s %s resolved to %s", api_method_name(rt->method), path,
			         got ? got->path : "nothing");
		json_decref(p);
	}
}

static void
test_urlencoded_pairs_follow_pve(void **state)
{
	json_t *o = json_object();
	struct error err = { 0 };
	const char *body = "a=1&b=x+y%2Fz;a=2&c&d=&e=p=q";
	assert_int_equal(urlencoded_parse(body, strlen(body), o, &err), 0);
	json_t *a = json_object_get(o, "a");
	assert_true(json_is_array(a));
	assert_string_equal(json_string_value(json_array_get(a, 1)), "2");
	assert_string_equal(json_string_value(json_object_get(o, "b")), "x y/z");
	assert_true(json_is_null(json_object_get(o, "c")));
	assert_string_equal(json_string_value(json_object_get(o, "d")), "");
	assert_string_equal(json_string_value(json_object_get(o, "e")), "p");
	json_decref(o);
}

static void
test_urlencoded_refuses_bad_escapes_and_invalid_utf8(void **state)
{
	json_t *o = json_object();
	struct error err = { 0 };
	assert_int_equal(urlencoded_parse("a=%G1", 5, o, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_int_equal(urlencoded_parse("a=%FF", 5, o, &err), -EINVAL);
	assert_int_equal(urlencoded_parse("a=%00", 5, o, &err), -EINVAL);
	json_decref(o);
}

static void
test_json_bodies_must_be_objects(void **state)
{
	json_t *o;
	struct error err = { 0 };
	assert_int_equal(json_body_parse("{\"vmid\":100}", 12, &o, &err), 0);
	json_decref(o);
	assert_int_equal(json_body_parse("[1]", 3, &o, &err), -EINVAL);
	assert_int_equal(json_body_parse("{\"a\":1,\"a\":2}", 13, &o, &err), -EINVAL);
	assert_int_equal(json_body_parse("{", 1, &o, &err), -EINVAL);
}

static void
test_auth_values_are_found_like_pve_extract_auth_value(void **state)
{
	char *v = auth_value("foo=1; PVEAuthCookie=PVE%3Aroot%40pam%3AABC::sig; x=y",
	                     "PVEAuthCookie");
	assert_string_equal(v, "PVE:root@pam:ABC::sig");
	free(v);
	v = auth_value("PVEAPIToken root@pam!t=abc", "PVEAPIToken");
	assert_string_equal(v, "root@pam!t=abc");
	free(v);
	assert_null(auth_value("XPVEAuthCookie=1", "PVEAuthCookie"));
	assert_null(auth_value(NULL, "PVEAuthCookie"));
	char *ct = content_type_base(" Application/JSON; charset=UTF-8");
	assert_string_equal(ct, "application/json");
	free(ct);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_and_parameter_segments_match),
		cmocka_unit_test(test_upids_route_raw_with_colons_and_bang),
		cmocka_unit_test(test_slashes_are_collapsed_and_trailing_slash_ignored),
		cmocka_unit_test(test_wrong_method_reports_existing_path),
		cmocka_unit_test(test_every_route_is_found_by_its_own_path),
		cmocka_unit_test(test_urlencoded_pairs_follow_pve),
		cmocka_unit_test(test_urlencoded_refuses_bad_escapes_and_invalid_utf8),
		cmocka_unit_test(test_json_bodies_must_be_objects),
		cmocka_unit_test(test_auth_values_are_found_like_pve_extract_auth_value),
	};
	return cmocka_run_group_tests_name("api-router", tests, setup, teardown);
}
