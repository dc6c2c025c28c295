/* Unit tests: the privilege table and the built-in roles, checked against what PVE defines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth/privs.h"

static void
assert_role(const char *id, const char *expected)
{
	const struct builtin_role *r = builtin_role_lookup(id);
	assert_non_null(r);
	assert_true(r->special);
	char *got = privset_format(r->privs);
	if (strcmp(got, expected) != 0)
		fail_msg("role %s\n got: %s\nwant: %s", id, got, expected);
	free(got);
}

static void
test_table_is_strictly_sorted_and_complete(void **state)
{
	/* PVE 9: 47 privileges (VM.Monitor was dropped in 9.0, VM.Replicate and the
	 * VM.GuestAgent.* set added) */
	assert_int_equal(priv_count(), 47);
	for (unsigned i = 1; i < priv_count(); i++)
		assert_true(strcmp(priv_name(i - 1), priv_name(i)) < 0);
	assert_null(priv_name(priv_count()));
	for (unsigned i = 0; i < priv_count(); i++) {
		assert_int_equal(priv_lookup(priv_name(i)), (int)i);
		assert_int_equal(priv_bit(priv_name(i)), (privset_t)1 << i);
	}
}

static void
test_lookup_refuses_unknown_and_near_miss_names(void **state)
{
	assert_int_equal(priv_lookup("VM.Monitor"), -1);
	assert_int_equal(priv_lookup("vm.audit"), -1);
	assert_int_equal(priv_lookup("VM.Audit "), -1);
	assert_int_equal(priv_lookup(""), -1);
	assert_int_equal(priv_bit("Sys.Everything"), 0);
	assert_int_equal(__builtin_popcountll(priv_all()), 47);
}

static void
test_privset_parse_accepts_pve_separators(void **state)
{
	privset_t s;
	char *bad = NULL;
	assert_int_equal(privset_parse("VM.Audit,VM.Console;Sys.Audit  Pool.Audit,,", &s, &bad), 0);
	assert_int_equal(s, priv_bit("VM.Audit") | priv_bit("VM.Console") | priv_bit("Sys.Audit") |
	                            priv_bit("Pool.Audit"));
	assert_int_equal(privset_parse("", &s, &bad), 0);
	assert_int_equal(s, 0);
	assert_int_equal(privset_parse(" \t", &s, &bad), 0);
	assert_int_equal(s, 0);
}

static void
test_privset_parse_names_the_first_unknown_privilege(void **state)
{
	privset_t s = 42;
	char *bad = NULL;
	assert_int_equal(privset_parse("VM.Audit,VM.Monitor,Bogus", &s, &bad), -EINVAL);
	assert_string_equal(bad, "VM.Monitor");
	assert_int_equal(s, 42); /* untouched on failure */
	free(bad);
}

static void
test_privset_format_uses_sorted_table_order(void **state)
{
	char *s = privset_format(priv_bit("VM.Console") | priv_bit("Datastore.Audit") |
	                         priv_bit("VM.Config.CPU") | priv_bit("VM.Config.Cloudinit"));
	assert_string_equal(s, "Datastore.Audit,VM.Config.CPU,VM.Config.Cloudinit,VM.Console");
	free(s);
	s = privset_format(0);
	assert_string_equal(s, "");
	free(s);
}

static void
test_builtin_role_ids_match_pve(void **state)
{
	static const char *const want[] = {
		"Administrator",     "NoAccess",         "PVEAdmin",        "PVEAuditor",
		"PVEDatastoreAdmin", "PVEDatastoreUser", "PVEMappingAdmin", "PVEMappingUser",
		"PVEPoolAdmin",      "PVEPoolUser",      "PVESDNAdmin",     "PVESDNUser",
		"PVESysAdmin",       "PVETemplateUser",  "PVEUserAdmin",    "PVEVMAdmin",
		"PVEVMUser",
	};
	unsigned n;
	const struct builtin_role *r = builtin_roles(&n);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < n; i++)
		assert_string_equal(r[i].id, want[i]);
	/* categories without user-level privileges get no user role */
	assert_null(builtin_role_lookup("PVESysUser"));
	assert_null(builtin_role_lookup("PVEUserUser"));
	assert_null(builtin_role_lookup("administrator"));
}

/* Expected lists: PVE's perm-test1.pl (PVEVMAdmin, Administrator) and create_roles(). */
static void
test_vm_roles_match_pve(void **state)
{
	assert_role("PVEVMAdmin",
	            "VM.Allocate,VM.Audit,VM.Backup,VM.Clone,VM.Config.CDROM,VM.Config.CPU,"
	            "VM.Config.Cloudinit,VM.Config.Disk,VM.Config.HWType,VM.Config.Memory,"
	            "VM.Config.Network,VM.Config.Options,VM.Console,VM.GuestAgent.Audit,"
	            "VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,"
	            "VM.GuestAgent.Unrestricted,VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,"
	            "VM.Snapshot.Rollback");
	assert_role("PVEVMUser",
	            "VM.Audit,VM.Backup,VM.Config.CDROM,VM.Config.Cloudinit,VM.Console,"
	            "VM.GuestAgent.Audit,VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,"
	            "VM.GuestAgent.FileWrite,VM.PowerMgmt");
	assert_role("PVETemplateUser", "VM.Audit,VM.Clone");
}

static void
test_administrator_has_everything_and_noaccess_nothing(void **state)
{
	assert_role(
	        "Administrator",
	        "Datastore.Allocate,Datastore.AllocateSpace,Datastore.AllocateTemplate,"
	        "Datastore.Audit,Group.Allocate,Mapping.Audit,Mapping.Modify,Mapping.Use,"
	        "Permissions.Modify,Pool.Allocate,Pool.Audit,Realm.Allocate,Realm.AllocateUser,"
	        "SDN.Allocate,SDN.Audit,SDN.Use,Sys.AccessNetwork,Sys.Audit,Sys.Console,"
	        "Sys.Incoming,Sys.Modify,Sys.PowerMgmt,Sys.Syslog,User.Modify,VM.Allocate,"
	        "VM.Audit,VM.Backup,VM.Clone,VM.Config.CDROM,VM.Config.CPU,VM.Config.Cloudinit,"
	        "VM.Config.Disk,VM.Config.HWType,VM.Config.Memory,VM.Config.Network,"
	        "VM.Config.Options,VM.Console,VM.GuestAgent.Audit,VM.GuestAgent.FileRead,"
	        "VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.GuestAgent.Unrestricted,"
	        "VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,VM.Snapshot.Rollback");
	assert_int_equal(builtin_role_lookup("Administrator")->privs, priv_all());
	assert_role("NoAccess", "");
}

static void
test_pveadmin_lacks_root_only_and_escalating_privileges(void **state)
{
	const struct builtin_role *r = builtin_role_lookup("PVEAdmin");
	assert_non_null(r);
	static const char *const missing[] = { "Sys.PowerMgmt",  "Sys.Modify",
		                               "Sys.Incoming",   "Sys.AccessNetwork",
		                               "Realm.Allocate", "Permissions.Modify",
		                               "Mapping.Modify" };
	privset_t without = 0;
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		without |= priv_bit(missing[i]);
	assert_int_equal(r->privs, priv_all() & ~without);
}

static void
test_category_roles_match_pve(void **state)
{
	assert_role("PVEAuditor", "Datastore.Audit,Mapping.Audit,Pool.Audit,SDN.Audit,Sys.Audit,"
	                          "VM.Audit,VM.GuestAgent.Audit");
	assert_role("PVESysAdmin", "Sys.Audit,Sys.Console,Sys.Syslog");
	assert_role("PVEUserAdmin", "Group.Allocate,Realm.AllocateUser,User.Modify");
	assert_role("PVEDatastoreAdmin", "Datastore.Allocate,Datastore.AllocateSpace,"
	                                 "Datastore.AllocateTemplate,Datastore.Audit");
	assert_role("PVEDatastoreUser", "Datastore.AllocateSpace,Datastore.Audit");
	assert_role("PVEPoolAdmin", "Pool.Allocate,Pool.Audit");
	assert_role("PVEPoolUser", "Pool.Audit");
	assert_role("PVESDNAdmin", "SDN.Allocate,SDN.Audit,SDN.Use");
	assert_role("PVESDNUser", "SDN.Audit,SDN.Use");
	assert_role("PVEMappingAdmin", "Mapping.Audit,Mapping.Modify,Mapping.Use");
	assert_role("PVEMappingUser", "Mapping.Audit,Mapping.Use");
}

static void
test_permissions_modify_is_only_in_administrator(void **state)
{
	unsigned n;
	const struct builtin_role *r = builtin_roles(&n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(!!(r[i].privs & priv_bit("Permissions.Modify")),
		                 strcmp(r[i].id, "Administrator") == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_strictly_sorted_and_complete),
		cmocka_unit_test(test_lookup_refuses_unknown_and_near_miss_names),
		cmocka_unit_test(test_privset_parse_accepts_pve_separators),
		cmocka_unit_test(test_privset_parse_names_the_first_unknown_privilege),
		cmocka_unit_test(test_privset_format_uses_sorted_table_order),
		cmocka_unit_test(test_builtin_role_ids_match_pve),
		cmocka_unit_test(test_vm_roles_match_pve),
		cmocka_unit_test(test_administrator_has_everything_and_noaccess_nothing),
		cmocka_unit_test(test_pveadmin_lacks_root_only_and_escalating_privileges),
		cmocka_unit_test(test_category_roles_match_pve),
		cmocka_unit_test(test_permissions_modify_is_only_in_administrator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
