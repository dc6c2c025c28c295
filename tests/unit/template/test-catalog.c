/* Unit tests: the template catalog's recipes carry every field PVE's aplinfo entries need,
 * lookups accept file names and short names, and busybox's version comes from its banner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/strbuf.h"
#include "template/template-internal.h"

static void
test_every_recipe_has_pves_mandatory_fields_and_a_unique_name(void **state)
{
	(void)state;
	for (const struct template_recipe *const *a = template_recipes; *a; a++) {
		const struct template_recipe *r = *a;
		assert_non_null(r->name);
		/* PVE's read_aplinfo drops records without package, type, os, version, infopage */
		assert_true(r->package && *r->package);
		assert_true(r->os && *r->os);
		assert_true(r->infopage && *r->infopage);
		assert_true(r->headline && *r->headline);
		assert_true(r->description && *r->description);
		assert_true(r->revision && *r->revision);
		assert_non_null(r->probe);
		assert_non_null(r->build);
		for (const struct template_recipe *const *b = a + 1; *b; b++)
			assert_string_not_equal(r->name, (*b)->name);
	}
	assert_ptr_equal(template_recipes[0], &template_recipe_busybox);
	assert_string_equal(template_recipe_busybox.name, "busybox");
	assert_string_equal(template_recipe_debian12.name, "debian-12");
}

static void
test_find_by_file_name_or_short_name_and_nothing_else(void **state)
{
	(void)state;
	struct template_info list[2] = {
		{ .name = "busybox", .template = (char *)"busybox-1.35.0-berth1_amd64.tar.zst" },
		{ .name = "debian-12",
		  .template = (char *)"debian-12-minimal_12-berth1_amd64.tar.zst" },
	};
	assert_ptr_equal(template_catalog_find(list, 2, "busybox"), &list[0]);
	assert_ptr_equal(template_catalog_find(list, 2, "busybox-1.35.0-berth1_amd64.tar.zst"),
	                 &list[0]);
	assert_ptr_equal(template_catalog_find(list, 2, "debian-12"), &list[1]);
	assert_ptr_equal(
	        template_catalog_find(list, 2, "debian-12-minimal_12-berth1_amd64.tar.zst"),
	        &list[1]);
	assert_null(template_catalog_find(list, 2, "debian"));
	assert_null(template_catalog_find(list, 2, "busybox-1.36.1-berth1_amd64.tar.zst"));
	assert_null(template_catalog_find(list, 2, ""));
	assert_null(template_catalog_find(list, 2, NULL));
	assert_null(template_catalog_find(list, 0, "busybox"));
}

static void
test_catalog_entries_are_pve_aplinfo_objects_with_safe_file_names(void **state)
{
	(void)state;
	struct template_info *list = NULL;
	size_t n = 0;
	struct error err = { 0 };
	assert_int_equal(template_catalog(&list, &n, &err), 0);
	static const char *const keys[] = { "template", "package",  "version",      "os",
		                            "section",  "type",     "headline",     "description",
		                            "source",   "location", "architecture", "maintainer",
		                            "infopage", NULL };
	for (size_t i = 0; i < n; i++) {
		json_t *o = template_info_json(&list[i]);
		for (const char *const *k = keys; *k; k++)
			assert_true(json_is_string(json_object_get(o, *k)));
		assert_string_equal(json_string_value(json_object_get(o, "section")), "system");
		assert_string_equal(json_string_value(json_object_get(o, "type")), "lxc");
		const char *t = list[i].template;
		size_t len = strlen(t);
		assert_true(len > 8 && streq(t + len - 8, ".tar.zst"));
		for (const char *c = t; *c; c++)
			assert_true(strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", *c) != NULL);
		assert_ptr_equal(template_catalog_find(list, n, list[i].name), &list[i]);
		json_decref(o);
	}
	template_catalog_free(list, n);
}

static void
test_busybox_version_comes_from_the_binarys_banner(void **state)
{
	(void)state;
	static const char bin[] = "\x7f"
	                          "ELF\0\0junk BusyBox is copyrighted\0"
	                          "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call";
	char *v = NULL;
	assert_int_equal(template_busybox_version(bin, sizeof(bin) - 1, &v), 0);
	assert_string_equal(v, "1.35.0");
	free(v);
	/* a NUL right after the version (the banner is split in some builds) */
	static const char split[] = "BusyBox v1.36.1\0 (2023-05-18)";
	assert_int_equal(template_busybox_version(split, sizeof(split) - 1, &v), 0);
	assert_string_equal(v, "1.36.1");
	free(v);
	static const char none[] = "BusyBox vX BusyBox v1 at the end: BusyBox v1.2";
	assert_int_equal(template_busybox_version(none, sizeof(none) - 1, &v), -ENOENT);
	assert_int_equal(template_busybox_version("", 0, &v), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_recipe_has_pves_mandatory_fields_and_a_unique_name),
		cmocka_unit_test(test_find_by_file_name_or_short_name_and_nothing_else),
		cmocka_unit_test(test_catalog_entries_are_pve_aplinfo_objects_with_safe_file_names),
		cmocka_unit_test(test_busybox_version_comes_from_the_binarys_banner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
