/* Unit tests: ACL evaluation on PVE's perm-test fixtures, tokens, expiry, root and pools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth/acl.h"
#include "basic/strbuf.h"

#define NOW 1750000000

struct check {
	char kind; /* 'R' roles (PVE's roles()), 'P' privileges (PVE's permissions()) */
	const char *subject, *path, *want;
};

static struct usercfg *
load(const char *text)
{
	struct usercfg *cfg;
	assert_int_equal(usercfg_parse(text, &cfg), 0);
	return cfg;
}

static char *
roles_text(const struct usercfg *cfg, const char *subject, const char *path)
{
	char **roles = acl_roles(cfg, subject, path, NULL);
	struct strbuf sb = STRBUF_INIT;
	for (char **r = roles; *r; r++)
		sb_printf(&sb, "%s%s", r == roles ? "" : ",", *r);
	acl_roles_free(roles, NULL);
	return sb_steal(&sb);
}

static void
run_checks(const char *cfgtext, const struct check *c, size_t n)
{
	struct usercfg *cfg = load(cfgtext);
	for (size_t i = 0; i < n; i++) {
		char *got = c[i].kind == 'R'
		                    ? roles_text(cfg, c[i].subject, c[i].path)
		                    : privset_format(acl_privs(cfg, c[i].subject, c[i].path, NOW));
		if (strcmp(got, c[i].want) != 0)
			fail_msg("%s %s %s\n got: %s\nwant: %s",
			         c[i].kind == 'R' ? "roles" : "privs", c[i].subject, c[i].path, got,
			         c[i].want);
		free(got);
	}
	usercfg_free(cfg);
}

#define RUN(cfg, checks) run_checks(cfg, checks, sizeof(checks) / sizeof(checks[0]))

static const char test1_cfg[] =
        "user:joe@pve:1:\nuser:max@pve:1:\nuser:alex@pve:1:\n"
        "user:sue@pve:1:\nuser:carol@pam:1:\n\n"
        "group:testgroup1:joe@pve,max@pve,sue@pve:\n"
        "group:testgroup2:alex@pve,carol@pam,sue@pve:\n"
        "group:testgroup3:max@pve:\n\n"
        "role:storage_manager:Datastore.AllocateSpace,Datastore.Audit:\n"
        "role:customer:VM.Audit,VM.PowerMgmt:\n"
        "role:vm_admin:VM.Audit,VM.Allocate,Permissions.Modify,VM.Console:\n\n"
        "acl:1:/vms:@testgroup1:vm_admin:\n"
        "acl:1:/vms/100/:alex@pve,max@pve:customer:\n"
        "acl:1:/storage/nfs1:@testgroup2:storage_manager:\n"
        "acl:1:/users:max@pve:Administrator:\n\n"
        "acl:1:/vms/200:@testgroup3:storage_manager:\n"
        "acl:1:/vms/200:@testgroup2:NoAccess:\n"
        "acl:1:/vms/300:alex@pve:PVEVMAdmin:\n"
        "acl:1:/vms/400:alex@pve:Administrator:\n";

#define VMADMIN_PRIVS                                                                              \
	"VM.Allocate,VM.Audit,VM.Backup,VM.Clone,VM.Config.CDROM,VM.Config.CPU,"                   \
	"VM.Config.Cloudinit,VM.Config.Disk,VM.Config.HWType,VM.Config.Memory,VM.Config.Network,"  \
	"VM.Config.Options,VM.Console,VM.GuestAgent.Audit,VM.GuestAgent.FileRead,"                 \
	"VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.GuestAgent.Unrestricted,"         \
	"VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,VM.Snapshot.Rollback"

#define ALL_PRIVS                                                                                  \
	"Datastore.Allocate,Datastore.AllocateSpace,Datastore.AllocateTemplate,Datastore.Audit,"   \
	"Group.Allocate,Mapping.Audit,Mapping.Modify,Mapping.Use,Permissions.Modify,"              \
	"Pool.Allocate,Pool.Audit,Realm.Allocate,Realm.AllocateUser,SDN.Allocate,SDN.Audit,"       \
	"SDN.Use,Sys.AccessNetwork,Sys.Audit,Sys.Console,Sys.Incoming,Sys.Modify,Sys.PowerMgmt,"   \
	"Sys.Syslog,User.Modify," VMADMIN_PRIVS

static void
test_pve_fixture_1_user_beats_group_and_noaccess(void **state)
{
	static const struct check c[] = {
		{ 'R', "max@pve", "/", "" },
		{ 'R', "max@pve", "/vms", "vm_admin" },
		{ 'R', "max@pve", "/vms/100", "customer" }, /* user beats group */
		{ 'R', "max@pve", "/vms/101", "vm_admin" },
		{ 'P', "max@pve", "/", "" },
		{ 'P', "max@pve", "/vms", "Permissions.Modify,VM.Allocate,VM.Audit,VM.Console" },
		{ 'P', "max@pve", "/vms/100", "VM.Audit,VM.PowerMgmt" },
		{ 'P', "alex@pve", "/vms", "" },
		{ 'P', "alex@pve", "/vms/100", "VM.Audit,VM.PowerMgmt" },
		{ 'P', "alex@pve", "/vms/300", VMADMIN_PRIVS }, /* no Permissions.Modify */
		{ 'P', "alex@pve", "/vms/400", ALL_PRIVS },
		{ 'R', "max@pve", "/vms/200", "storage_manager" },
		{ 'R', "joe@pve", "/vms/200", "vm_admin" },
		{ 'R', "sue@pve", "/vms/200", "NoAccess" },
		{ 'P', "sue@pve", "/vms/200", "" },
	};
	RUN(test1_cfg, c);
}

static void
test_pve_fixtures_2_to_4_groups_add_up_at_one_level(void **state)
{
	static const char cfg2[] = "user:User1@pve:1:\nuser:User2@pve:1:\n"
	                           "group:GroupA:User1@pve:\ngroup:GroupB:User1@pve:\n"
	                           "role:Role1:VM.PowerMgmt:\nrole:Role2:VM.Console:\n"
	                           "acl:1:/vms:@GroupA:Role1:\nacl:1:/vms:@GroupB:Role2:\n";
	static const struct check c2[] = {
		{ 'R', "User1@pve", "/", "" },
		{ 'R', "User2@pve", "/", "" },
		{ 'R', "User1@pve", "/vms", "Role1,Role2" },
		{ 'R', "User2@pve", "/vms", "" },
		{ 'R', "User1@pve", "/vms/100", "Role1,Role2" },
	};
	RUN(cfg2, c2);

	static const char cfg3[] = "user:User1@pve:1:\nuser:User2@pve:1:\n"
	                           "group:GroupA:User1@pve:\ngroup:GroupB:User1@pve:\n"
	                           "role:Role1:VM.PowerMgmt:\nrole:Role2:VM.Console:\n"
	                           "acl:1:/vms:@GroupA:Role1:\nacl:1:/vms/200:@GroupB:Role2:\n";
	static const struct check c3[] = {
		{ 'R', "User1@pve", "", "" },
		{ 'R', "User2@pve", "", "" },
		{ 'R', "User1@pve", "/vms/300", "Role1" },
		{ 'R', "User1@pve", "/vms/200", "Role2" }, /* deeper beats higher */
	};
	RUN(cfg3, c3);

	static const char cfg4[] = "user:User1@pve:1:\nuser:User2@pve:1:\n"
	                           "group:GroupA:User1@pve,User2@pve:\n"
	                           "group:GroupB:User1@pve,User2@pve:\n"
	                           "role:Role1:VM.PowerMgmt:\nrole:Role2:VM.Console:\n"
	                           "acl:1:/vms:@GroupA:Role1:\nacl:1:/vms:User2@pve:NoAccess:\n";
	static const struct check c4[] = {
		{ 'R', "User1@pve", "/vms/300", "Role1" },
		{ 'R', "User2@pve", "/vms/300", "NoAccess" },
		{ 'P', "User2@pve", "/vms/300", "" },
	};
	RUN(cfg4, c4);
}

static void
test_pve_fixture_5_propagation_only_reaches_the_leaf_when_off(void **state)
{
	static const char cfg[] =
	        "user:User1@pve:1:\nuser:User2@pve:1:\n"
	        "role:Role1:VM.PowerMgmt:\nrole:Role2:VM.Console:\n"
	        "role:Role3:VM.Console:\n"
	        "acl:1:/vms:User1@pve:Role1:\nacl:1:/vms/100/a/b:User1@pve:Role2:\n"
	        "acl:0:/kvm:User2@pve:Role2:\nacl:0:/kvm/vms:User2@pve:Role1:\n"
	        "acl:0:/kvm/vms/100/a:User2@pve:Role3:\n";
	static const struct check c[] = {
		{ 'R', "User1@pve", "/vms", "Role1" },
		{ 'R', "User1@pve", "/vms/100", "Role1" },
		{ 'R', "User1@pve", "/vms/100/a", "Role1" },
		{ 'R', "User1@pve", "/vms/100/a/b", "Role2" },
		{ 'R', "User1@pve", "/vms/100/a/b/c", "Role2" },
		{ 'R', "User1@pve", "/vms/200", "Role1" },
		{ 'R', "User2@pve", "/kvm", "Role2" },
		{ 'R', "User2@pve", "/kvm/vms", "Role1" },
		{ 'R', "User2@pve", "/kvm/vms/100", "" },
		{ 'R', "User2@pve", "/kvm/vms/100/a", "Role3" },
		{ 'R', "User2@pve", "/kvm/vms/100/a/b", "" },
		{ 'P', "User2@pve", "/kvm/vms/100", "" },
		{ 'P', "User2@pve", "/kvm/vms", "VM.PowerMgmt" },
	};
	RUN(cfg, c);
}

static const char test6_cfg[] = "user:User1@pve:1:\nuser:User2@pve:1:\nuser:User3@pve:1:\n"
                                "user:User4@pve:1:\nuser:intern@pve:1:\n"
                                "group:DEVEL:User1@pve,User2@pve,User3@pve:\n"
                                "group:MARKETING:User1@pve,User4@pve:\ngroup:INTERNS:intern@pve:\n"
                                "role:RoleDEVEL:VM.PowerMgmt:\nrole:RoleMARKETING:VM.Console:\n"
                                "role:RoleINTERN:VM.Audit:\nrole:RoleTEST1:VM.Console:\n"
                                "acl:1:/pool/devel:@DEVEL:RoleDEVEL:\n"
                                "acl:1:/pool/marketing:@MARKETING:RoleMARKETING:\n"
                                "acl:1:/pool/marketing/interns:@INTERNS:RoleINTERN:\n"
                                "acl:1:/vms:@DEVEL:RoleTEST1:\nacl:1:/vms:User3@pve:NoAccess:\n"
                                "acl:1:/vms/300:@MARKETING:RoleTEST1:\n"
                                "pool:devel:MITS development:500,501,502:store1 store2:\n"
                                "pool:marketing:MITS marketing:600:store1:\n"
                                "pool:marketing/interns:MITS marketing intern:700:store3:\n";

static void
test_pve_fixture_6_pool_members_inherit_pool_roles(void **state)
{
	static const struct check c[] = {
		{ 'R', "User1@pve", "", "" },
		{ 'R', "User1@pve", "/vms", "RoleTEST1" },
		{ 'R', "User3@pve", "/vms", "NoAccess" },
		{ 'R', "User4@pve", "/vms", "" },
		{ 'R', "User1@pve", "/vms/100", "RoleTEST1" },
		{ 'R', "User3@pve", "/vms/100", "NoAccess" },
		{ 'R', "User4@pve", "/vms/100", "" },
		{ 'R', "User1@pve", "/vms/300", "RoleTEST1" },
		{ 'R', "User3@pve", "/vms/300", "NoAccess" },
		{ 'R', "User4@pve", "/vms/300", "RoleTEST1" },
		{ 'P', "User1@pve", "/vms/500", "VM.Console,VM.PowerMgmt" },
		{ 'P', "User2@pve", "/vms/500", "VM.Console,VM.PowerMgmt" },
		{ 'R', "User3@pve", "/vms/500", "NoAccess" },
		{ 'P', "User3@pve", "/vms/500", "" }, /* pool roles never beat NoAccess */
		{ 'R', "User4@pve", "/vms/500", "" },
		{ 'P', "User4@pve", "/vms/500", "" },
		{ 'R', "intern@pve", "/vms/600", "" },
		{ 'R', "intern@pve", "/vms/700", "" }, /* roles() ignores pools */
		{ 'P', "intern@pve", "/vms/600", "" },
		{ 'P', "intern@pve", "/vms/700", "VM.Audit" },
		{ 'P', "User4@pve", "/vms/700", "VM.Console" }, /* nested pool inherits */
		{ 'R', "intern@pve", "/pool/marketing/interns", "RoleINTERN" },
		{ 'R', "User4@pve", "/pool/marketing/interns", "RoleMARKETING" },
		{ 'P', "User1@pve", "/vms/600", "VM.Console" },
		{ 'P', "User2@pve", "/vms/600", "VM.Console" },
		{ 'P', "User3@pve", "/vms/600", "" },
		{ 'P', "User4@pve", "/vms/600", "VM.Console" },
		{ 'P', "User1@pve", "/storage/store1", "VM.Console,VM.PowerMgmt" },
		{ 'P', "User2@pve", "/storage/store1", "VM.PowerMgmt" },
		{ 'P', "User3@pve", "/storage/store1", "VM.PowerMgmt" },
		{ 'P', "User4@pve", "/storage/store1", "VM.Console" },
		{ 'P', "User1@pve", "/storage/store2", "VM.PowerMgmt" },
		{ 'P', "User2@pve", "/storage/store2", "VM.PowerMgmt" },
		{ 'P', "User3@pve", "/storage/store2", "VM.PowerMgmt" },
		{ 'P', "User4@pve", "/storage/store2", "" },
	};
	RUN(test6_cfg, c);
}

static void
test_pve_fixture_7_noaccess_on_a_pool_wins_over_path_roles(void **state)
{
	static const char cfg[] = "user:User1@pve:1:\nuser:User2@pve:1:\n"
	                          "group:GroupA:User1@pve,User2@pve:\n"
	                          "group:GroupB:User1@pve,User2@pve:\n"
	                          "role:Role1:VM.PowerMgmt:\nrole:Role2:VM.Console:\n"
	                          "role:Role3:VM.Console:\n"
	                          "acl:1:/pool/devel:User1@pve:NoAccess:\n"
	                          "acl:1:/vms:User1@pve:Role1:\n"
	                          "pool:devel:Development:100:store1:\n";
	static const struct check c[] = {
		{ 'R', "User1@pve", "/vms", "Role1" },
		{ 'R', "User1@pve", "/vms/200", "Role1" },
		{ 'R', "User1@pve", "/vms/100", "Role1" },
		{ 'P', "User1@pve", "/vms/100", "" },
		{ 'P', "User1@pve", "/vms/200", "VM.PowerMgmt" },
	};
	RUN(cfg, c);
}

static const char test8_cfg[] = "user:joe@pve:1:\nuser:max@pve:1:\ntoken:max@pve!token::0:\n"
                                "token:max@pve!token2::1:\nuser:alex@pve:1:\nuser:sue@pve:1:\n"
                                "user:carol@pam:1:\ntoken:carol@pam!token:\n\n"
                                "group:testgroup1:joe@pve,max@pve,sue@pve:\n"
                                "group:testgroup2:alex@pve,carol@pam,sue@pve:\n"
                                "group:testgroup3:max@pve:\n\n"
                                "role:storage_manager:Datastore.AllocateSpace,Datastore.Audit:\n"
                                "role:customer:VM.Audit,VM.PowerMgmt:\n"
                                "role:vm_admin:VM.Audit,VM.Allocate,VM.Console:\n\n"
                                "acl:1:/vms:@testgroup1:vm_admin:\n"
                                "acl:0:/vms/300:max@pve:customer:\n"
                                "acl:1:/vms/300:max@pve:vm_admin:\n"
                                "acl:1:/vms/100/:alex@pve,max@pve:customer:\n"
                                "acl:1:/storage/nfs1:@testgroup2:storage_manager:\n"
                                "acl:1:/users:max@pve:Administrator:\n\n"
                                "acl:1:/vms/200:@testgroup3:storage_manager:\n"
                                "acl:1:/vms/200:@testgroup2:NoAccess:\n\n"
                                "acl:1:/vms/200:carol@pam!token:vm_admin\n"
                                "acl:1:/vms/200:max@pve!token:storage_manager\n"
                                "acl:1:/vms/200:max@pve!token2:customer\n\n"
                                "acl:1:/vms/300:max@pve!token2:Administrator\n";

static void
test_pve_fixture_8_tokens(void **state)
{
	static const struct check c[] = {
		{ 'R', "max@pve", "/", "" },
		{ 'R', "max@pve", "/vms", "vm_admin" },
		{ 'R', "max@pve", "/vms/100", "customer" },
		{ 'R', "max@pve", "/vms/101", "vm_admin" },
		{ 'P', "max@pve", "/", "" },
		{ 'P', "max@pve", "/vms", "VM.Allocate,VM.Audit,VM.Console" },
		{ 'P', "max@pve", "/vms/100", "VM.Audit,VM.PowerMgmt" },
		{ 'P', "alex@pve", "/vms", "" },
		{ 'P', "alex@pve", "/vms/100", "VM.Audit,VM.PowerMgmt" },
		{ 'R', "max@pve", "/vms/200", "storage_manager" },
		{ 'R', "joe@pve", "/vms/200", "vm_admin" },
		{ 'R', "sue@pve", "/vms/200", "NoAccess" },
		{ 'R', "carol@pam", "/vms/200", "NoAccess" },
		/* without privsep a token is its user: its own entries do not count */
		{ 'R', "carol@pam!token", "/vms/200", "NoAccess" },
		{ 'P', "carol@pam!token", "/vms/200", "" },
		{ 'R', "max@pve!token", "/vms/200", "storage_manager" },
		{ 'R', "max@pve!token2", "/vms/200", "customer" },
		/* privsep: Administrator on the token, but never more than the user */
		{ 'P', "max@pve!token2", "/vms/300",
		  "VM.Allocate,VM.Audit,VM.Console,VM.PowerMgmt" },
		/* privsep token: customer ∩ storage_manager = nothing */
		{ 'P', "max@pve!token2", "/vms/200", "" },
		{ 'P', "max@pve!token2", "/vms", "" },
		{ 'P', "max@pve!token", "/vms", "VM.Allocate,VM.Audit,VM.Console" },
		{ 'R', "max@pve!nosuch", "/vms", "" },
		{ 'P', "max@pve!nosuch", "/vms", "" },
	};
	RUN(test8_cfg, c);
}

static void
test_roles_report_propagate_flags(void **state)
{
	struct usercfg *cfg = load(test8_cfg);
	bool *prop;
	char **roles = acl_roles(cfg, "max@pve", "/vms/300", &prop);
	assert_string_equal(roles[0], "customer");
	assert_false(prop[0]);
	assert_string_equal(roles[1], "vm_admin");
	assert_true(prop[1]);
	assert_null(roles[2]);
	acl_roles_free(roles, prop);
	roles = acl_roles(cfg, "root@pam", "/vms/300", &prop);
	assert_string_equal(roles[0], "Administrator");
	assert_true(prop[0]);
	assert_null(roles[1]);
	acl_roles_free(roles, prop);
	usercfg_free(cfg);
}

static const char life_cfg[] = "user:root@pam:1:0:\nuser:on@pve:1:0:\nuser:off@pve:0:0:\n"
                               "user:until@pve:1:1750000100:\n"
                               "token:on@pve!live:0:1:\ntoken:on@pve!old:1749999999:1:\n"
                               "token:on@pve!full:0:0:\ntoken:off@pve!live:0:0:\n"
                               "token:root@pam!sep:0:1:\ntoken:root@pam!all:0:0:\n"
                               "acl:1:/:on@pve,off@pve,until@pve:PVEAuditor:\n"
                               "acl:1:/:on@pve!live,on@pve!old,off@pve!live:PVEAuditor:\n"
                               "acl:1:/:root@pam!sep:PVEVMUser:\n";

static void
test_disabled_and_expired_subjects_have_nothing(void **state)
{
	struct usercfg *cfg = load(life_cfg);
	privset_t auditor = builtin_role_lookup("PVEAuditor")->privs;
	assert_int_equal(acl_privs(cfg, "on@pve", "/vms", NOW), auditor);
	assert_int_equal(acl_privs(cfg, "off@pve", "/vms", NOW), 0);
	assert_int_equal(acl_privs(cfg, "until@pve", "/vms", 1750000100), auditor);
	assert_int_equal(acl_privs(cfg, "until@pve", "/vms", 1750000101), 0);
	assert_int_equal(acl_privs(cfg, "on@pve!live", "/vms", NOW), auditor);
	assert_int_equal(acl_privs(cfg, "on@pve!old", "/vms", NOW), 0);
	assert_int_equal(acl_privs(cfg, "off@pve!live", "/vms", NOW), 0);
	assert_int_equal(acl_privs(cfg, "nobody@pve", "/vms", NOW), 0);
	assert_int_equal(acl_privs(cfg, "not a user", "/vms", NOW), 0);
	assert_int_equal(acl_privs(cfg, NULL, "/vms", NOW), 0);

	assert_true(acl_subject_active(cfg, "on@pve", NOW));
	assert_true(acl_subject_active(cfg, "on@pve!live", NOW));
	assert_false(acl_subject_active(cfg, "on@pve!old", NOW));
	assert_false(acl_subject_active(cfg, "on@pve!none", NOW));
	assert_false(acl_subject_active(cfg, "off@pve", NOW));
	assert_false(acl_subject_active(cfg, "off@pve!live", NOW));
	assert_false(acl_subject_active(cfg, "until@pve", 1750000101));
	usercfg_free(cfg);
}

static void
test_root_has_everything_its_privsep_tokens_only_their_own(void **state)
{
	struct usercfg *cfg = load(life_cfg);
	assert_int_equal(acl_privs(cfg, "root@pam", "/", NOW), priv_all());
	assert_int_equal(acl_privs(cfg, "root@pam", "/vms/12345", NOW), priv_all());
	assert_int_equal(acl_privs(cfg, "root@pam!all", "/nodes/x", NOW), priv_all());
	assert_int_equal(acl_privs(cfg, "root@pam!sep", "/vms", NOW),
	                 builtin_role_lookup("PVEVMUser")->privs);
	usercfg_free(cfg);

	/* a disabled root@pam cannot log in anywhere, so it holds nothing either */
	cfg = load("user:root@pam:0:0:\n");
	assert_int_equal(acl_privs(cfg, "root@pam", "/", NOW), 0);
	usercfg_free(cfg);
}

static void
test_paths_must_be_normalised(void **state)
{
	struct usercfg *cfg = load(life_cfg);
	assert_int_equal(acl_privs(cfg, "root@pam", "vms", NOW), 0);
	assert_int_equal(acl_privs(cfg, "on@pve", "/vms/", NOW), 0);
	assert_int_equal(acl_privs(cfg, "on@pve", "//vms", NOW), 0);
	assert_int_equal(acl_privs(cfg, "on@pve", "", NOW), 0);
	assert_int_equal(acl_privs(cfg, "on@pve", NULL, NOW), 0);
	usercfg_free(cfg);
}

static void
test_noaccess_beside_other_roles_cancels_them(void **state)
{
	struct usercfg *cfg =
	        load("user:a@pve:1:0:\ngroup:g:a@pve:\n"
	             "acl:1:/vms:a@pve:PVEVMAdmin,NoAccess:\n"
	             "acl:1:/storage:@g:PVEAuditor:\nacl:1:/storage:@g:NoAccess:\n"
	             "acl:1:/nodes:a@pve:NoAccess:\nacl:1:/nodes/n1:a@pve:PVEAuditor:\n"
	             "acl:0:/sdn:a@pve:NoAccess:\nacl:1:/:a@pve:PVESDNUser:\n");
	assert_int_equal(acl_privs(cfg, "a@pve", "/vms/100", NOW), 0);
	assert_int_equal(acl_privs(cfg, "a@pve", "/storage/local", NOW), 0);
	assert_int_equal(acl_privs(cfg, "a@pve", "/nodes/n2", NOW), 0);
	/* a deeper entry replaces an inherited NoAccess */
	assert_int_equal(acl_privs(cfg, "a@pve", "/nodes/n1", NOW),
	                 builtin_role_lookup("PVEAuditor")->privs);
	/* a non-propagating NoAccess leaves the children to the inherited role */
	assert_int_equal(acl_privs(cfg, "a@pve", "/sdn", NOW), 0);
	assert_int_equal(acl_privs(cfg, "a@pve", "/sdn/zones", NOW),
	                 builtin_role_lookup("PVESDNUser")->privs);
	usercfg_free(cfg);
}

static void
test_removed_custom_role_grants_nothing(void **state)
{
	struct usercfg *cfg = load("user:a@pve:1:0:\nrole:R:VM.Audit:\nacl:1:/:a@pve:R:\n");
	assert_int_equal(acl_privs(cfg, "a@pve", "/vms", NOW), priv_bit("VM.Audit"));
	assert_int_equal(usercfg_remove_role(cfg, "R"), 0);
	assert_int_equal(acl_privs(cfg, "a@pve", "/vms", NOW), 0);
	usercfg_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pve_fixture_1_user_beats_group_and_noaccess),
		cmocka_unit_test(test_pve_fixtures_2_to_4_groups_add_up_at_one_level),
		cmocka_unit_test(test_pve_fixture_5_propagation_only_reaches_the_leaf_when_off),
		cmocka_unit_test(test_pve_fixture_6_pool_members_inherit_pool_roles),
		cmocka_unit_test(test_pve_fixture_7_noaccess_on_a_pool_wins_over_path_roles),
		cmocka_unit_test(test_pve_fixture_8_tokens),
		cmocka_unit_test(test_roles_report_propagate_flags),
		cmocka_unit_test(test_disabled_and_expired_subjects_have_nothing),
		cmocka_unit_test(test_root_has_everything_its_privsep_tokens_only_their_own),
		cmocka_unit_test(test_paths_must_be_normalised),
		cmocka_unit_test(test_noaccess_beside_other_roles_cancels_them),
		cmocka_unit_test(test_removed_custom_role_grants_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
