/* Unit tests: user.cfg parse/format (PVE's parser_writer cases), names, paths, editing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth/usercfg.h"
#include "basic/strbuf.h"

#include <stdio.h>

#define ROOT    "user:root@pam:1:0::::::\n"
#define TEST    "user:test@pam:1:0::::::\n"
#define TEST2   "user:test2@pam:1:0::::::\n"
#define TEST3   "user:test3@pam:1:0::::::\n"
#define TOK     "token:test@pam!full:0:0::\n"
#define TOK2F   "token:test2@pam!full:0:0::\n"
#define TOK2P   "token:test2@pam!privsep:0:1::\n"
#define TOK2E   "token:test2@pam!expired:1:0::\n"
#define GMEMB   "group:testgroup:test2@pam,test@pam::\n"
#define GSECOND "group:another:test3@pam::\n"

static char *
reformat(const char *text)
{
	struct usercfg *cfg;
	assert_int_equal(usercfg_parse(text, &cfg), 0);
	char *out = usercfg_format(cfg);
	assert_non_null(out);
	usercfg_free(cfg);
	return out;
}

static void
assert_rewrite(const char *in, const char *want)
{
	char *got = reformat(in);
	if (strcmp(got, want) != 0)
		fail_msg("input:\n%s\n got:\n%s\nwant:\n%s", in, got, want);
	/* the canonical text is a fixed point */
	char *again = reformat(got);
	assert_string_equal(again, got);
	free(again);
	free(got);
}

static void
assert_canonical(const char *text)
{
	assert_rewrite(text, text);
}

static void
test_empty_and_default_configs_get_root(void **state)
{
	assert_rewrite("", ROOT "\n\n\n\n");
	assert_canonical(ROOT "\n\n\n\n");
	struct usercfg *cfg = usercfg_new();
	char *s = usercfg_format(cfg);
	assert_string_equal(s, ROOT "\n\n\n\n");
	free(s);
	usercfg_free(cfg);
}

static void
test_missing_fields_take_pve_defaults(void **state)
{
	/* parser_writer.pl "minimal" case: a bare user line is disabled */
	assert_rewrite("user:root@pam\nuser:test@pam\ntoken:test@pam!test\n\ngroup:testgroup\n\n"
	               "pool:testpool\n\nrole:testrole\n\nacl::/:",
	               "user:root@pam:0:0::::::\nuser:test@pam:0:0::::::\n"
	               "token:test@pam!test:0:0::\n\ngroup:testgroup:::\n\npool:testpool::::\n\n"
	               "role:testrole::\n\n");
}

static void
test_groups_sort_members_and_drop_invalid_ones(void **state)
{
	assert_canonical(ROOT "\ngroup:testgroup:::\n\n\n\n");
	assert_canonical(ROOT TEST "\ngroup:testgroup:test@pam::\n\n\n\n");
	assert_canonical(ROOT TEST2 TEST "\n" GMEMB "\n\n\n");
	assert_rewrite(ROOT TEST2 TEST "\ngroup:testgroup:test@pam,test2@pam::\n\n\n\n",
	               ROOT TEST2 TEST "\n" GMEMB "\n\n\n");
	/* not a user id: dropped; a group with an invalid name: dropped */
	assert_rewrite(ROOT "\ngroup:testgroup:does_not_exist::\n\n\n\n",
	               ROOT "\ngroup:testgroup:::\n\n\n\n");
	assert_rewrite(ROOT "\ngroup:inval!d:root@pam:\n\n", ROOT "\n\n\n\n");
}

static void
test_tokens_follow_their_user_sorted(void **state)
{
	assert_canonical(ROOT TEST TOK "\n\n\n\n");
	assert_canonical(ROOT TEST2 TOK2E TOK2F TOK2P TEST TOK "\n\n\n\n");
	assert_rewrite(ROOT TEST2 TOK2P TOK2F TOK2E "\n\n\n\n",
	               ROOT TEST2 TOK2E TOK2F TOK2P "\n\n\n\n");
	/* a token of an unknown user is dropped */
	assert_rewrite(ROOT "token:nobody@pam!tok:0:1::\n", ROOT "\n\n\n\n");
}

static void
test_roles_sort_dedupe_and_drop_invalid_privileges(void **state)
{
	assert_canonical(ROOT "\n\n\nrole:testrolesingle:VM.Allocate:\n\n");
	assert_canonical(ROOT "\n\n\nrole:testrole:Datastore.Audit,VM.Allocate:\n\n");
	assert_rewrite(ROOT "\n\n\nrole:testrole:VM.Allocate,Datastore.Audit,VM.Allocate:\n\n",
	               ROOT "\n\n\nrole:testrole:Datastore.Audit,VM.Allocate:\n\n");
	assert_rewrite(ROOT "\n\n\nrole:testrole:VM.Invalid,Datastore.Audit,VM.Allocate:\n\n",
	               ROOT "\n\n\nrole:testrole:Datastore.Audit,VM.Allocate:\n\n");
	assert_rewrite(ROOT "role:testrolesingle:VM.Allocate:\n\nrole:testrole:VM.Allocate,"
	                    "Datastore.Audit:\n\n",
	               ROOT "\n\n\nrole:testrole:Datastore.Audit,VM.Allocate:\n"
	                    "role:testrolesingle:VM.Allocate:\n\n");
	/* built-in roles are never redefined nor written */
	assert_rewrite(ROOT "role:PVEAdmin:Sys.Modify:\n", ROOT "\n\n\n\n");
}

static void
test_pools_keep_members_and_drop_duplicates(void **state)
{
	assert_canonical(ROOT "\n\npool:testpool::::\n\n\n");
	assert_rewrite(ROOT "\n\npool:testpool::non-numeric:inval!d:\n\n\n",
	               ROOT "\n\npool:testpool::::\n\n\n");
	assert_canonical(ROOT "\n\npool:testpool::123,1234:local,local-zfs:\n\n\n");
	assert_rewrite(ROOT "\n\npool:testpool::123,1234:local,local-zfs:\n"
	                    "pool:test_duplicate_vms::123,1234::\n"
	                    "pool:test_duplicate_storages:::local,local-zfs:\n",
	               ROOT
	               "\n\npool:test_duplicate_storages:::local,local-zfs:\n"
	               "pool:test_duplicate_vms::::\npool:testpool::123,1234:local,local-zfs:\n"
	               "\n\n");
	/* vmids sort as text, nested pools bring their parents */
	assert_rewrite(ROOT "pool:a/b:sub:1000,101,100:\n",
	               ROOT "\n\npool:a::::\npool:a/b:sub:100,1000,101::\n\n\n");
}

static void
test_acl_lines_for_users_groups_and_tokens(void **state)
{
	assert_canonical(ROOT TEST "\n\n\n\nacl:1:/:test@pam:PVEVMAdmin:\n");
	assert_canonical(ROOT TEST2 TEST "\n\n\n\nacl:1:/:test@pam:PVEVMAdmin:\n"
	                                 "acl:1:/storage:test@pam:PVEDatastoreAdmin:\n"
	                                 "acl:1:/storage:test2@pam:PVEDatastoreUser:\n");
	/* entries for users missing from the file are kept, as PVE does */
	assert_canonical(ROOT TEST2 "\n\n\n\nacl:1:/:test@pam:PVEVMAdmin:\n"
	                            "acl:1:/storage:test@pam:PVEDatastoreAdmin:\n"
	                            "acl:1:/storage:test2@pam:PVEDatastoreUser:\n");
	assert_canonical(ROOT TEST "\ngroup:testgroup:test@pam::\n\n\n\n"
	                           "acl:1:/:@testgroup:PVEVMAdmin:\n");
	assert_canonical(ROOT TEST TOK "\n\n\n\nacl:1:/:test@pam!full:PVEVMAdmin:\n");
	assert_canonical(ROOT TEST2 TOK2E TOK2F TOK2P TEST TOK
	                 "\n\n\n\nacl:1:/:test@pam!full:PVEVMAdmin:\n"
	                 "acl:1:/storage:test2@pam!expired,test@pam!full:PVEDatastoreAdmin:\n"
	                 "acl:1:/storage:test2@pam!privsep:PVEDatastoreUser:\n");
}

static void
test_acl_entries_for_missing_tokens_and_roles_are_dropped(void **state)
{
	assert_rewrite(ROOT TEST2 TOK2E TOK2F TOK2P TEST
	               "acl:1:/:test@pam!full:PVEVMAdmin:\n"
	               "acl:1:/storage:test2@pam!expired,test@pam!full:PVEDatastoreAdmin:\n"
	               "acl:1:/storage:test2@pam!privsep:PVEDatastoreUser:\n",
	               ROOT TEST2 TOK2E TOK2F TOK2P TEST
	               "\n\n\n\nacl:1:/storage:test2@pam!expired:PVEDatastoreAdmin:\n"
	               "acl:1:/storage:test2@pam!privsep:PVEDatastoreUser:\n");
	assert_rewrite(ROOT TEST "\n\n\n\nacl:1:/:test@pam:PVEVMAdmin:\n"
	                         "acl:1:/storage:test@pam:MissingRole:\n",
	               ROOT TEST "\n\n\n\nacl:1:/:test@pam:PVEVMAdmin:\n");
	/* group entries stay even when the group is missing (PVE keeps them too) */
	assert_canonical(ROOT "\n\n\n\nacl:1:/:@nogroup:PVEVMAdmin:\n");
}

static void
test_acl_members_with_equal_roles_are_merged(void **state)
{
	const char *head = ROOT TEST2 TEST3 TEST "\n" GSECOND GMEMB "\n\n\n";
	struct strbuf in = STRBUF_INIT, want = STRBUF_INIT;
	sb_printf(&in,
	          "%sacl:1:/:@testgroup:PVEVMAdmin:\nacl:1:/storage:@testgroup:"
	          "PVEDatastoreAdmin:\nacl:1:/storage:@another:PVEDatastoreUser:\n"
	          "acl:1:/:test@pam:PVEVMAdmin:\nacl:1:/storage:test@pam:PVEDatastoreAdmin:\n"
	          "acl:1:/storage:test2@pam:PVEDatastoreUser:\n",
	          head);
	sb_printf(&want,
	          "%sacl:1:/:@testgroup,test@pam:PVEVMAdmin:\n"
	          "acl:1:/storage:@testgroup,test@pam:PVEDatastoreAdmin:\n"
	          "acl:1:/storage:@another,test2@pam:PVEDatastoreUser:\n",
	          head);
	assert_rewrite(sb_str(&in), sb_str(&want));
	sb_free(&in);
	sb_free(&want);
}

static void
test_acl_propagate_flags_are_not_merged_and_paths_sort_depth_first(void **state)
{
	const char *text = ROOT TEST2 TEST3 TEST "\n" GSECOND GMEMB "\n\n\n"
	                                         "acl:0:/:@testgroup:PVEVMAdmin:\n"
	                                         "acl:1:/:test@pam:PVEVMAdmin:\n"
	                                         "acl:0:/storage:@testgroup:PVEDatastoreAdmin:\n"
	                                         "acl:0:/storage:@another:PVEDatastoreUser:\n"
	                                         "acl:1:/storage:test@pam:PVEDatastoreAdmin:\n"
	                                         "acl:1:/storage:test2@pam:PVEDatastoreUser:\n";
	assert_canonical(text);
	/* a member with several roles gets one line per propagate flag, roles joined */
	assert_rewrite(ROOT TEST "acl:1:/vms:test@pam:PVEVMUser,PVEAuditor:\n"
	                         "acl:0:/vms:test@pam:NoAccess:\nacl:1:/a-b:test@pam:NoAccess:\n"
	                         "acl:1:/a/b:test@pam:NoAccess:\n",
	               ROOT TEST "\n\n\n\nacl:1:/a/b:test@pam:NoAccess:\n"
	                         "acl:1:/a-b:test@pam:NoAccess:\nacl:0:/vms:test@pam:NoAccess:\n"
	                         "acl:1:/vms:test@pam:PVEAuditor,PVEVMUser:\n");
}

static void
test_acl_repeated_entry_takes_the_last_propagate_flag(void **state)
{
	assert_rewrite(ROOT TEST "acl:1:/vms:test@pam:PVEVMUser:\nacl:0:/vms:test@pam:PVEVMUser:\n",
	               ROOT TEST "\n\n\n\nacl:0:/vms:test@pam:PVEVMUser:\n");
}

static void
test_acl_paths_are_normalised_and_root_entries_dropped(void **state)
{
	assert_rewrite(ROOT TEST
	               "acl:1://vms///100/:test@pam:PVEVMUser:\n"
	               "acl:1:storage:test@pam:PVEAuditor:\n"
	               "acl:1:/:root@pam:NoAccess:\nacl:1:/bad path:test@pam:PVEAuditor:\n",
	               ROOT TEST "\n\n\n\nacl:1:/storage:test@pam:PVEAuditor:\n"
	                         "acl:1:/vms/100:test@pam:PVEVMUser:\n");
}

static void
test_user_fields_and_repeated_user_lines(void **state)
{
	struct usercfg *cfg;
	assert_int_equal(usercfg_parse(" user : joe@pve : 1 : 1700000000 : J%C3%B6rg : Doe : "
	                               "joe@example.com : a%3Ab%25c : x :\n"
	                               "token:joe@pve!t1:0:1:tok%20comment:\n",
	                               &cfg),
	                 0);
	struct uc_user *u = usercfg_find_user(cfg, "joe@pve");
	assert_non_null(u);
	assert_true(u->enable);
	assert_int_equal(u->expire, 1700000000);
	assert_string_equal(u->firstname, "J\xc3\xb6rg");
	assert_string_equal(u->lastname, "Doe");
	assert_string_equal(u->email, "joe@example.com");
	assert_string_equal(u->comment, "a:b%c");
	assert_string_equal(u->keys, "x");
	struct uc_token *t = usercfg_find_token(cfg, "joe@pve!t1");
	assert_non_null(t);
	assert_true(t->privsep);
	assert_string_equal(t->comment, "tok comment");
	char *s = usercfg_format(cfg);
	assert_string_equal(s, "user:joe@pve:1:1700000000:J%C3%B6rg:Doe:joe@example.com:"
	                       "a%3Ab%25c:x:\ntoken:joe@pve!t1:0:1:tok comment:\n" ROOT "\n\n\n\n");
	free(s);
	usercfg_free(cfg);

	/* a later line for the same user replaces it, tokens included (as PVE) */
	assert_rewrite("user:joe@pve:1:0:A::::\ntoken:joe@pve!t1:0:1::\nuser:joe@pve:0:5::B:::\n",
	               "user:joe@pve:0:5::B::::\n" ROOT "\n\n\n\n");
	/* bad expire or user name: line skipped */
	assert_rewrite("user:joe@pve:1:12x:::::\nuser:no-realm:1:0:::::\n", ROOT "\n\n\n\n");
}

static void
test_invalid_lines_leave_warnings(void **state)
{
	struct usercfg *cfg;
	assert_int_equal(usercfg_parse("# comment\nbogus:line\nuser:bad\nrole:a b:\n"
	                               "acl:1:/vms:x@pve:NoSuchRole:\nuser:ok@pve:1:0:%FF::::\n",
	                               &cfg),
	                 0);
	assert_true(cfg->n_warnings >= 6);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		assert_true(strncmp(cfg->warnings[i], "line ", 5) == 0);
	/* an undecodable name is dropped, the user stays */
	struct uc_user *u = usercfg_find_user(cfg, "ok@pve");
	assert_non_null(u);
	assert_null(u->firstname);
	usercfg_free(cfg);
}

static void
test_carriage_return_inside_a_line_skips_it(void **state)
{
	assert_rewrite("user:a@pve:1:0::::x\ry::\nuser:b@pve:1:0:::::\r\n",
	               "user:b@pve:1:0::::::\n" ROOT "\n\n\n\n");
}

static void
test_free_text_with_newlines_is_encoded_never_injected(void **state)
{
	struct usercfg *cfg = usercfg_new();
	struct uc_user *root = usercfg_find_user(cfg, "root@pam");
	/* a handler that bypassed the checks must still not inject lines */
	root->comment = strdup("x\nacl:1:/:evil@pve:Administrator:\r\n");
	root->firstname = strdup("  padded  ");
	char *s = usercfg_format(cfg);
	assert_non_null(s);
	assert_null(strstr(s, "\nacl:"));
	assert_non_null(strstr(s, "x%0Aacl%3A1%3A/%3Aevil@pve%3AAdministrator%3A%0D%0A"));
	assert_non_null(strstr(s, ":%20%20padded%20%20:"));
	struct usercfg *back;
	assert_int_equal(usercfg_parse(s, &back), 0);
	assert_int_equal(back->n_acls, 0);
	assert_string_equal(usercfg_find_user(back, "root@pam")->comment, root->comment);
	assert_string_equal(usercfg_find_user(back, "root@pam")->firstname, "  padded  ");
	usercfg_free(back);
	free(s);
	usercfg_free(cfg);
}

static void
test_format_refuses_unencoded_fields_with_line_breaks(void **state)
{
	static const char *const bad_email[] = { "a@b\nacl:1:/:x@pve:Administrator:", "a:b", "a b",
		                                 "x\r" };
	for (size_t i = 0; i < sizeof(bad_email) / sizeof(bad_email[0]); i++) {
		struct usercfg *cfg = usercfg_new();
		struct uc_user *root = usercfg_find_user(cfg, "root@pam");
		root->email = strdup(bad_email[i]);
		assert_null(usercfg_format(cfg));
		usercfg_free(cfg);
	}
	struct usercfg *cfg = usercfg_new();
	struct uc_user *root = usercfg_find_user(cfg, "root@pam");
	root->keys = strdup("k\n");
	assert_null(usercfg_format(cfg));
	free(root->keys);
	root->keys = NULL;
	free(root->userid);
	root->userid = strdup("root@pam\nuser:x@pve");
	assert_null(usercfg_format(cfg));
	usercfg_free(cfg);
}

static void
test_add_user_refuses_bad_fields(void **state)
{
	struct usercfg *cfg = usercfg_new();
	struct uc_user u = { .userid = "joe@pve",
		             .enable = true,
		             .email = "joe@example.com",
		             .comment = "fine: 100%" };
	assert_int_equal(usercfg_add_user(cfg, &u), 0);
	assert_int_equal(usercfg_add_user(cfg, &u), -EEXIST);

	struct uc_user bad = u;
	bad.userid = "ann@pve";
	bad.comment = "two\nlines";
	assert_int_equal(usercfg_add_user(cfg, &bad), -EINVAL);
	bad.comment = "cr\r";
	assert_int_equal(usercfg_add_user(cfg, &bad), -EINVAL);
	bad.comment = "bad utf8 \xff";
	assert_int_equal(usercfg_add_user(cfg, &bad), -EINVAL);
	bad.comment = NULL;
	bad.email = "a\n@b";
	assert_int_equal(usercfg_add_user(cfg, &bad), -EINVAL);
	bad.email = "a:b@c";
	assert_int_equal(usercfg_add_user(cfg, &bad), -EINVAL);
	bad.email = NULL;
	bad.keys = "abc def";
	assert_int_equal(usercfg_add_user(cfg, &bad), -EINVAL);
	bad.keys = NULL;
	bad.expire = -1;
	assert_int_equal(usercfg_add_user(cfg, &bad), -EINVAL);
	bad.expire = 0;
	bad.userid = "ann@p";
	assert_int_equal(usercfg_add_user(cfg, &bad), -EINVAL);
	bad.userid = "ann@pve";
	assert_int_equal(usercfg_add_user(cfg, &bad), 0);

	char *s = usercfg_format(cfg);
	assert_string_equal(s, "user:ann@pve:1:0::::::\nuser:joe@pve:1:0:::joe@example.com:"
	                       "fine%3A 100%25::\n" ROOT "\n\n\n\n");
	free(s);
	usercfg_free(cfg);
}

static void
add_user(struct usercfg *cfg, const char *userid)
{
	struct uc_user u = { .userid = (char *)userid, .enable = true };
	assert_int_equal(usercfg_add_user(cfg, &u), 0);
}

static void
set_acl(struct usercfg *cfg, const char *path, enum uc_subject type, const char *ugid,
        const char *role, bool propagate, int want)
{
	struct uc_acl a = { (char *)path, type, (char *)ugid, (char *)role, propagate };
	assert_int_equal(usercfg_set_acl(cfg, &a, false), want);
}

static void
test_removing_a_user_removes_its_tokens_acls_and_memberships(void **state)
{
	struct usercfg *cfg = usercfg_new();
	add_user(cfg, "joe@pve");
	add_user(cfg, "joe@pvex");
	struct uc_token t = { .name = "ci", .privsep = true };
	assert_int_equal(usercfg_add_token(cfg, "joe@pve", &t), 0);
	assert_int_equal(usercfg_add_token(cfg, "joe@pve", &t), -EEXIST);
	assert_int_equal(usercfg_add_token(cfg, "nobody@pve", &t), -ENOENT);
	struct uc_token bad = { .name = "x" };
	assert_int_equal(usercfg_add_token(cfg, "joe@pve", &bad), -EINVAL);
	assert_int_equal(usercfg_add_token(cfg, "joe@pvex", &t), 0);
	assert_int_equal(usercfg_add_group(cfg, "ops", "Operators"), 0);
	assert_int_equal(usercfg_add_group(cfg, "ops", NULL), -EEXIST);
	assert_int_equal(usercfg_group_add_member(cfg, "ops", "joe@pve"), 0);
	assert_int_equal(usercfg_group_add_member(cfg, "ops", "joe@pve"), 0);
	assert_int_equal(usercfg_group_add_member(cfg, "ops", "nobody@pve"), -ENOENT);
	set_acl(cfg, "/vms", UC_SUBJECT_USER, "joe@pve", "PVEVMUser", true, 0);
	set_acl(cfg, "/vms", UC_SUBJECT_TOKEN, "joe@pve!ci", "PVEVMUser", true, 0);
	set_acl(cfg, "/vms", UC_SUBJECT_TOKEN, "joe@pvex!ci", "PVEVMUser", true, 0);
	set_acl(cfg, "/vms", UC_SUBJECT_GROUP, "ops", "PVEAuditor", true, 0);
	assert_int_equal(cfg->n_acls, 4);

	assert_int_equal(usercfg_remove_user(cfg, "joe@pve"), 0);
	assert_int_equal(usercfg_remove_user(cfg, "joe@pve"), -ENOENT);
	char *s = usercfg_format(cfg);
	assert_string_equal(s, "user:joe@pvex:1:0::::::\ntoken:joe@pvex!ci:0:1::\n" ROOT
	                       "\ngroup:ops::Operators:\n\n\n\n"
	                       "acl:1:/vms:@ops:PVEAuditor:\nacl:1:/vms:joe@pvex!ci:PVEVMUser:\n");
	free(s);

	assert_int_equal(usercfg_remove_token(cfg, "joe@pvex!ci"), 0);
	assert_int_equal(usercfg_remove_token(cfg, "joe@pvex!ci"), -ENOENT);
	assert_int_equal(usercfg_remove_group(cfg, "ops"), 0);
	assert_int_equal(cfg->n_acls, 0);

	/* root@pam comes back as a reload would bring it: enabled, no tokens */
	struct uc_user *root = usercfg_find_user(cfg, "root@pam");
	root->enable = false;
	struct uc_token rt = { .name = "ci" };
	assert_int_equal(usercfg_add_token(cfg, "root@pam", &rt), 0);
	assert_int_equal(usercfg_remove_user(cfg, "root@pam"), 0);
	root = usercfg_find_user(cfg, "root@pam");
	assert_non_null(root);
	assert_true(root->enable);
	assert_int_equal(root->n_tokens, 0);
	usercfg_free(cfg);
}

static void
test_roles_and_acl_editing(void **state)
{
	struct usercfg *cfg = usercfg_new();
	add_user(cfg, "joe@pve");
	assert_int_equal(usercfg_add_role(cfg, "PVEAdmin", 0), -EEXIST);
	assert_int_equal(usercfg_add_role(cfg, "bad role", 0), -EINVAL);
	assert_int_equal(usercfg_add_role(cfg, "Backup", priv_bit("VM.Backup")), 0);
	assert_int_equal(usercfg_add_role(cfg, "Backup", 0), -EEXIST);
	assert_int_equal(usercfg_remove_role(cfg, "NoAccess"), -EPERM);
	privset_t p;
	assert_true(usercfg_role_privs(cfg, "Backup", &p));
	assert_int_equal(p, priv_bit("VM.Backup"));
	assert_true(usercfg_role_privs(cfg, "PVEAuditor", NULL));
	assert_false(usercfg_role_privs(cfg, "Nope", NULL));

	set_acl(cfg, "/vms/100", UC_SUBJECT_USER, "joe@pve", "Backup", true, 0);
	set_acl(cfg, "/vms/100", UC_SUBJECT_USER, "joe@pve", "Backup", false, 0); /* replaced */
	assert_int_equal(cfg->n_acls, 1);
	assert_false(cfg->acls[0].propagate);
	set_acl(cfg, "/vms/100/", UC_SUBJECT_USER, "joe@pve", "Backup", true, -EINVAL);
	set_acl(cfg, "/vms/99", UC_SUBJECT_USER, "joe@pve", "Backup", true, -EINVAL);
	set_acl(cfg, "/users", UC_SUBJECT_USER, "joe@pve", "Backup", true, -EINVAL);
	set_acl(cfg, "/vms", UC_SUBJECT_USER, "ann@pve", "Backup", true, -ENOENT);
	set_acl(cfg, "/vms", UC_SUBJECT_GROUP, "nogroup", "Backup", true, -ENOENT);
	set_acl(cfg, "/vms", UC_SUBJECT_TOKEN, "joe@pve!none", "Backup", true, -ENOENT);
	set_acl(cfg, "/vms", UC_SUBJECT_USER, "joe@pve", "Missing", true, -ENOENT);
	set_acl(cfg, "/vms", UC_SUBJECT_USER, "joe@pve", "Bad,Role", true, -EINVAL);
	set_acl(cfg, "/", UC_SUBJECT_USER, "root@pam", "NoAccess", true, 0); /* not stored */
	assert_int_equal(cfg->n_acls, 1);

	struct uc_acl a = { "/vms/100", UC_SUBJECT_USER, "joe@pve", "Backup", false };
	assert_int_equal(usercfg_set_acl(cfg, &a, true), 0);
	assert_int_equal(usercfg_set_acl(cfg, &a, true), -ENOENT);

	set_acl(cfg, "/vms", UC_SUBJECT_USER, "joe@pve", "Backup", true, 0);
	assert_int_equal(usercfg_remove_role(cfg, "Backup"), 0);
	assert_int_equal(cfg->n_acls, 0);
	assert_int_equal(usercfg_remove_role(cfg, "Backup"), -ENOENT);
	usercfg_free(cfg);
}

struct name_case {
	const char *s;
	bool ok;
};

static void
test_userid_check_matches_verify_username(void **state)
{
	static const struct name_case cases[] = {
		{ "root@pam", true },
		{ "a@pve", true },
		{ "a@b@pve", true }, /* the realm follows the last '@' */
		{ "j.doe-1_x@ldap-corp.example", true },
		{ "x!y@pve", true },
		{ "J\xc3\xb6rg@pve", true },
		{ "@pve", false },
		{ "ab", false },
		{ "a@p", false }, /* realm needs two characters */
		{ "a@1pve", false },
		{ "a b@pve", false },
		{ "a:b@pve", false },
		{ "a/b@pve", false },
		{ "a\t@pve", false },
		{ "a@pve\n", false },
		{ "a@pve!tok", false },
		{ "\xff@pve", false },
		{ "", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (userid_valid(cases[i].s) != cases[i].ok)
			fail_msg("userid_valid(\"%s\") != %d", cases[i].s, cases[i].ok);
	char buf[80];
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 60, "@pve", 5); /* 64 characters */
	assert_true(userid_valid(buf));
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 61, "@pve", 5); /* 65 */
	assert_false(userid_valid(buf));
	assert_false(userid_valid(NULL));
}

static void
test_other_name_checks(void **state)
{
	assert_true(realm_valid("pve"));
	assert_true(realm_valid("ad-corp.example_1"));
	assert_false(realm_valid("p"));
	assert_false(realm_valid("1pve"));
	assert_false(realm_valid("abcdefghijabcdefghijabcdefghijabc")); /* 33 */
	assert_true(tokenname_valid("ci"));
	assert_true(tokenname_valid("a.b-c_d"));
	assert_false(tokenname_valid("a"));
	assert_false(tokenname_valid("1ab"));
	assert_false(tokenname_valid("a!b"));
	assert_true(full_tokenid_valid("root@pam!ci"));
	assert_true(full_tokenid_valid("x!y@pve!ci"));
	assert_false(full_tokenid_valid("root@pam"));
	assert_false(full_tokenid_valid("root@pam!"));
	assert_false(full_tokenid_valid("!ci"));
	assert_false(full_tokenid_valid("root@pam!c"));
	assert_true(groupid_valid("ops.team-1_x"));
	assert_false(groupid_valid("ops team"));
	assert_false(groupid_valid(""));
	assert_false(groupid_valid("a@b"));
	assert_true(roleid_valid("My.Role-1"));
	assert_false(roleid_valid("My,Role"));
	assert_true(poolid_valid("a/b/c"));
	assert_false(poolid_valid("a/b/c/d"));
	assert_false(poolid_valid("a//b"));
	assert_false(poolid_valid("a/"));
	assert_false(poolid_valid(""));
}

struct path_case {
	const char *in, *out;
};

static void
test_acl_path_normalize_follows_check_path(void **state)
{
	static const struct path_case cases[] = {
		{ "/", "/" },
		{ "//", "/" },
		{ "vms", "/vms" },
		{ "//vms///100/", "/vms/100" },
		{ "/vms/100", "/vms/100" },
		{ "/vms/99", NULL },
		{ "/vms/0100", NULL },
		{ "/vms/100/x", NULL },
		{ "/access", "/access" },
		{ "/access/groups/ops", "/access/groups/ops" },
		{ "/access/realm/pve", "/access/realm/pve" },
		{ "/access/users", NULL },
		{ "/nodes/pve1", "/nodes/pve1" },
		{ "/nodes/pve1/x", NULL },
		{ "/storage/local-zfs", "/storage/local-zfs" },
		{ "/pool/a/b/c", "/pool/a/b/c" },
		{ "/pool/a/b/c/d", NULL },
		{ "/sdn/zones/z1/vnet1/4094", "/sdn/zones/z1/vnet1/4094" },
		{ "/sdn/zones/z1/vnet1/0", NULL },
		{ "/sdn/zones/z1/vnet1/10000", NULL },
		{ "/sdn/controllers/c_1-x", "/sdn/controllers/c_1-x" },
		{ "/sdn/dns/a-b", NULL },
		{ "/sdn/fabrics/f1", "/sdn/fabrics/f1" },
		{ "/sdn/ipams/x/y", NULL },
		{ "/sdn/route-maps/rm1", "/sdn/route-maps/rm1" },
		{ "/mapping/pci/gpu0", "/mapping/pci/gpu0" },
		{ "/mapping/pci/gpu0/x", NULL },
		{ "/users", NULL },
		{ "/vms/1 00", NULL },
		{ "/vms/%31", NULL },
		{ "", NULL },
		{ "0", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = acl_path_normalize(cases[i].in);
		if (cases[i].out == NULL ? got != NULL
		                         : (got == NULL || strcmp(got, cases[i].out) != 0))
			fail_msg("acl_path_normalize(\"%s\") = %s, want %s", cases[i].in,
			         got ? got : "NULL", cases[i].out ? cases[i].out : "NULL");
		free(got);
	}
	assert_null(acl_path_normalize(NULL));
}

/* Random user.cfg text from well-formed and broken pieces; every parse must be writable and
 * the written text a fixed point: format(parse(format(parse(x)))) == format(parse(x)), which
 * (format being injective on parsed configs) is parse(format(parse(x))) == parse(x). */
static const char *const types[] = { "user", "token", "group", "pool",  "role",
	                             "acl",  "acl",   "acl",   "bogus", "" };
static const char *const pieces[] = {
	"",
	"",
	"1",
	"0",
	"12345",
	"x",
	" ",
	"\t",
	"joe@pve",
	"ann@pam",
	"root@pam",
	"joe@pve!ci",
	"ann@pam!t2",
	"@ops",
	"ops",
	"/",
	"/vms",
	"/vms/100",
	"//storage/",
	"/pool/p1",
	"PVEVMUser",
	"NoAccess",
	"Custom",
	"VM.Audit",
	"Sys.Modify,VM.Console",
	"Bogus.Priv",
	",",
	";",
	"%",
	"%3A",
	"%0A",
	"%ZZ",
	"%20",
	"%C3%A9",
	"\xc3\xa9",
	"\xff",
	"100,101",
	"local",
	"a/b",
	"#",
	"joe@pve,@ops",
	"PVEAuditor;Custom",
	"a b",
	"\r",
	"p1",
};

#define PICK(a) (a)[rand() % (int)(sizeof(a) / sizeof((a)[0]))]

static const char *const ids[] = { "joe@pve", "ann@pam", "root@pam", "x!y@pve" };
static const char *const tokids[] = { "joe@pve!ci", "ann@pam!t2", "root@pam!full" };
static const char *const flags[] = { "0", "1", "", "01" };
static const char *const texts[] = { "", "plain", "a%3Ab", "%C3%A9t%C3%A9", "%0Aacl%3A", "  x " };
static const char *const paths[] = { "/", "/vms", "/vms/100", "//storage/", "/pool/p1", "/x y" };
static const char *const members[] = { "joe@pve", "@ops", "joe@pve,@ops", "ann@pam!t2", "" };
static const char *const rolelists[] = { "PVEVMUser", "NoAccess", "Custom", "PVEAuditor;Custom" };
static const char *const privs[] = { "VM.Audit", "Sys.Modify,VM.Console", "Bogus", "" };
static const char *const gids[] = { "ops", "dev", "a b" };
static const char *const pids[] = { "p1", "p1/sub", "a/b/c/d" };
static const char *const vms[] = { "100,101", "100", "x", "" };
static const char *const stores[] = { "local", "local,nfs-1", "b@d", "" };

/* The likely value of field i of a line of the given type. */
static const char *
field_value(const char *type, int i)
{
	if (!strcmp(type, "user"))
		return i == 0 ? PICK(ids) : i == 1 ? PICK(flags) : i == 2 ? "0" : PICK(texts);
	if (!strcmp(type, "token"))
		return i == 0 ? PICK(tokids) : i < 3 ? PICK(flags) : PICK(texts);
	if (!strcmp(type, "group"))
		return i == 0 ? PICK(gids) : i == 1 ? PICK(members) : PICK(texts);
	if (!strcmp(type, "pool"))
		return i == 0   ? PICK(pids)
		       : i == 1 ? PICK(texts)
		       : i == 2 ? PICK(vms)
		                : PICK(stores);
	if (!strcmp(type, "role"))
		return i == 0 ? "Custom" : PICK(privs);
	if (!strcmp(type, "acl"))
		return i == 0   ? PICK(flags)
		       : i == 1 ? PICK(paths)
		       : i == 2 ? PICK(members)
		                : PICK(rolelists);
	return PICK(pieces);
}

/* Lines of a random type; fields mostly plausible, sometimes any piece or several. */
static void
random_config(struct strbuf *sb)
{
	int lines = rand() % 25;
	for (int l = 0; l < lines; l++) {
		const char *type = PICK(types);
		sb_puts(sb, type);
		int fields = rand() % 10;
		for (int f = 0; f < fields; f++) {
			sb_putc(sb, ':');
			if (rand() % 10)
				sb_puts(sb, field_value(type, f));
			else
				for (int k = rand() % 3; k >= 0; k--)
					sb_puts(sb, PICK(pieces));
		}
		sb_puts(sb, rand() % 8 ? ":\n" : rand() % 2 ? "\r\n" : "\n");
	}
}

static void
test_random_configs_round_trip(void **state)
{
	size_t users = 0, acls = 0, groups = 0, pools = 0, roles = 0;
	srand(20260522);
	for (int iter = 0; iter < 3000; iter++) {
		struct strbuf sb = STRBUF_INIT;
		random_config(&sb);
		struct usercfg *cfg;
		assert_int_equal(usercfg_parse(sb_str(&sb), &cfg), 0);
		char *once = usercfg_format(cfg);
		if (!once)
			fail_msg("unwritable parse of:\n%s", sb_str(&sb));
		assert_null(strchr(once, '\r'));
		struct usercfg *again;
		assert_int_equal(usercfg_parse(once, &again), 0);
		for (size_t w = 0; w < again->n_warnings; w++)
			if (strstr(again->warnings[w], "ignore") ||
			    strstr(again->warnings[w], "invalid"))
				fail_msg("warning on canonical text: %s\n%s", again->warnings[w],
				         once);
		assert_int_equal(again->n_users, cfg->n_users);
		assert_int_equal(again->n_groups, cfg->n_groups);
		assert_int_equal(again->n_pools, cfg->n_pools);
		assert_int_equal(again->n_roles, cfg->n_roles);
		assert_int_equal(again->n_acls, cfg->n_acls);
		for (size_t u = 0; u < cfg->n_users; u++)
			assert_int_equal(usercfg_find_user(again, cfg->users[u].userid)->n_tokens,
			                 cfg->users[u].n_tokens);
		char *twice = usercfg_format(again);
		if (strcmp(once, twice) != 0)
			fail_msg("not a fixed point:\n%s\n---\n%s", once, twice);
		free(once);
		free(twice);
		users += cfg->n_users;
		acls += cfg->n_acls;
		groups += cfg->n_groups;
		pools += cfg->n_pools;
		roles += cfg->n_roles;
		usercfg_free(cfg);
		usercfg_free(again);
		sb_free(&sb);
	}
	/* the generator must reach every kind of entry, or the property proves little */
	assert_true(users > 3000 + 1000);
	assert_true(acls > 1000);
	assert_true(groups > 500 && pools > 500 && roles > 500);
}

static void
test_pool_membership_moves_and_leaves(void **state)
{
	(void)state;
	struct usercfg *cfg = NULL;
	assert_int_equal(usercfg_parse("pool:web:web servers:100:local:\npool:db:::\n", &cfg), 0);
	assert_int_equal(usercfg_pool_add_vm(cfg, "web", 101), 0);
	assert_int_equal(usercfg_pool_add_vm(cfg, "nope", 102), -ENOENT);
	/* a vmid is in at most one pool: adding moves it */
	assert_int_equal(usercfg_pool_add_vm(cfg, "db", 100), 0);
	char *text = usercfg_format(cfg);
	assert_non_null(strstr(text, "pool:web:web servers:101:local:\n"));
	assert_non_null(strstr(text, "pool:db::100::\n"));
	free(text);
	assert_int_equal(usercfg_pool_remove_vm(cfg, 100), 1);
	assert_int_equal(usercfg_pool_remove_vm(cfg, 100), 0);
	text = usercfg_format(cfg);
	assert_non_null(strstr(text, "pool:db::::\n"));
	free(text);
	usercfg_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_default_configs_get_root),
		cmocka_unit_test(test_pool_membership_moves_and_leaves),
		cmocka_unit_test(test_missing_fields_take_pve_defaults),
		cmocka_unit_test(test_groups_sort_members_and_drop_invalid_ones),
		cmocka_unit_test(test_tokens_follow_their_user_sorted),
		cmocka_unit_test(test_roles_sort_dedupe_and_drop_invalid_privileges),
		cmocka_unit_test(test_pools_keep_members_and_drop_duplicates),
		cmocka_unit_test(test_acl_lines_for_users_groups_and_tokens),
		cmocka_unit_test(test_acl_entries_for_missing_tokens_and_roles_are_dropped),
		cmocka_unit_test(test_acl_members_with_equal_roles_are_merged),
		cmocka_unit_test(
		        test_acl_propagate_flags_are_not_merged_and_paths_sort_depth_first),
		cmocka_unit_test(test_acl_repeated_entry_takes_the_last_propagate_flag),
		cmocka_unit_test(test_acl_paths_are_normalised_and_root_entries_dropped),
		cmocka_unit_test(test_user_fields_and_repeated_user_lines),
		cmocka_unit_test(test_invalid_lines_leave_warnings),
		cmocka_unit_test(test_carriage_return_inside_a_line_skips_it),
		cmocka_unit_test(test_free_text_with_newlines_is_encoded_never_injected),
		cmocka_unit_test(test_format_refuses_unencoded_fields_with_line_breaks),
		cmocka_unit_test(test_add_user_refuses_bad_fields),
		cmocka_unit_test(test_removing_a_user_removes_its_tokens_acls_and_memberships),
		cmocka_unit_test(test_roles_and_acl_editing),
		cmocka_unit_test(test_userid_check_matches_verify_username),
		cmocka_unit_test(test_other_name_checks),
		cmocka_unit_test(test_acl_path_normalize_follows_check_path),
		cmocka_unit_test(test_random_configs_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
