/* Property tests: 10,000 random ACL configs against an independent model of PVE's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth/acl.h"
#include "basic/strbuf.h"

#include <stdio.h>

#define NOW         1750000000
#define N_CONFIGS   10000
#define N_USERS     3
#define N_TOKENS    2
#define N_GROUPS    2
#define MAX_ENTRIES 14

static const char *const users[N_USERS] = { "u1@pve", "u2@pve", "u3@pam" };
static const char *const tokens[N_TOKENS] = { "t1", "t2" };
static const char *const groups[N_GROUPS] = { "g1", "g2" };
static const char *const paths[] = {
	"/",         "/vms",           "/vms/100",       "/vms/101",
	"/storage",  "/storage/local", "/storage/nfs",   "/nodes",
	"/nodes/n1", "/access",        "/access/groups", "/pool",
	"/pool/p1",
};
#define N_PATHS (sizeof(paths) / sizeof(paths[0]))
/* roles ACL entries may name; "Extra" is defined but kept for the metamorphic checks */
static const char *const roles[] = {
	"NoAccess", "PVEAuditor",    "PVEVMUser", "PVEVMAdmin", "PVEDatastoreUser",
	"PVEAdmin", "Administrator", "R1",        "R2"
};
#define N_ROLES (sizeof(roles) / sizeof(roles[0]))

static unsigned long long rng_state;

static unsigned
rnd(unsigned n)
{
	/* xorshift64*: deterministic across libcs, unlike rand() */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

static privset_t
random_privs(void)
{
	privset_t s = 0;
	for (unsigned i = 0; i < priv_count(); i++)
		if (rnd(3) == 0)
			s |= (privset_t)1 << i;
	return s;
}

static bool
in_pool(const char *path)
{
	return !strcmp(path, "/vms/100") || !strcmp(path, "/storage/local");
}

static struct usercfg *
random_config(void)
{
	struct usercfg *cfg = usercfg_new();
	for (int u = 0; u < N_USERS; u++) {
		int64_t expire = rnd(6) == 0 ? NOW - 1 - rnd(100) : rnd(6) == 0 ? NOW + 100 : 0;
		struct uc_user user = { .userid = (char *)users[u],
			                .enable = rnd(8) != 0,
			                .expire = expire };
		assert_int_equal(usercfg_add_user(cfg, &user), 0);
		for (int t = 0; t < N_TOKENS; t++) {
			struct uc_token tok = { .name = (char *)tokens[t],
				                .privsep = rnd(3) != 0,
				                .expire = rnd(8) == 0 ? NOW - 5 : 0 };
			assert_int_equal(usercfg_add_token(cfg, users[u], &tok), 0);
		}
	}
	for (int g = 0; g < N_GROUPS; g++) {
		assert_int_equal(usercfg_add_group(cfg, groups[g], NULL), 0);
		for (int u = 0; u < N_USERS; u++)
			if (rnd(2))
				assert_int_equal(usercfg_group_add_member(cfg, groups[g], users[u]),
				                 0);
	}
	assert_int_equal(usercfg_add_role(cfg, "R1", random_privs()), 0);
	assert_int_equal(usercfg_add_role(cfg, "R2", random_privs()), 0);
	assert_int_equal(usercfg_add_role(cfg, "Extra", random_privs()), 0);

	unsigned n = rnd(MAX_ENTRIES + 1);
	for (unsigned i = 0; i < n; i++) {
		char sub[64];
		struct uc_acl a = { .path = (char *)paths[rnd(N_PATHS)],
			            .roleid = (char *)roles[rnd(N_ROLES)],
			            .propagate = rnd(3) != 0 };
		switch (rnd(3)) {
		case 0:
			a.type = UC_SUBJECT_USER;
			a.ugid = (char *)users[rnd(N_USERS)];
			break;
		case 1:
			a.type = UC_SUBJECT_GROUP;
			a.ugid = (char *)groups[rnd(N_GROUPS)];
			break;
		default:
			a.type = UC_SUBJECT_TOKEN;
			snprintf(sub, sizeof(sub), "%s!%s", users[rnd(N_USERS)],
			         tokens[rnd(N_TOKENS)]);
			a.ugid = sub;
			break;
		}
		assert_int_equal(usercfg_set_acl(cfg, &a, false), 0);
	}

	/* a pool holding /vms/100 and /storage/local, with its own random entries */
	struct usercfg *with_pool;
	char *text = usercfg_format(cfg);
	assert_non_null(text);
	struct strbuf sb = STRBUF_INIT;
	sb_printf(&sb, "%spool:p1::100:local:\n", text);
	for (unsigned i = rnd(3); i > 0; i--)
		sb_printf(&sb, "acl:%u:/pool/p1:%s%s:%s:\n", rnd(2), rnd(2) ? "@" : "",
		          rnd(2) ? groups[rnd(N_GROUPS)] : users[rnd(N_USERS)],
		          roles[rnd(N_ROLES)]);
	assert_int_equal(usercfg_parse(sb_str(&sb), &with_pool), 0);
	sb_free(&sb);
	free(text);
	usercfg_free(cfg);
	return with_pool;
}

/* ---- the model: evaluated from the leaf upwards ----------------------------------------- */

static bool
member(const struct usercfg *cfg, const char *group, const char *subject)
{
	const struct uc_group *g = usercfg_find_group(cfg, group);
	for (size_t i = 0; g && i < g->n_members; i++)
		if (!strcmp(g->members[i], subject))
			return true;
	return false;
}

/* priority of an entry for the subject: 3 token, 2 user, 1 group, 0 not the subject's */
static int
priority(const struct usercfg *cfg, const struct uc_acl *a, const char *subject)
{
	if (strcmp(a->ugid, subject) == 0)
		return a->type == UC_SUBJECT_TOKEN ? 3 : a->type == UC_SUBJECT_USER ? 2 : 0;
	return a->type == UC_SUBJECT_GROUP && member(cfg, a->ugid, subject) ? 1 : 0;
}

/* The first level from the leaf up where an entry applies decides alone; there the
 * subject's most specific class wins. */
static privset_t
model_walk(const struct usercfg *cfg, const char *subject, const char *path, bool *ret_noaccess)
{
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s", path);
	for (bool leaf = true;; leaf = false) {
		int best = 0;
		for (size_t i = 0; i < cfg->n_acls; i++) {
			const struct uc_acl *a = &cfg->acls[i];
			if (!strcmp(a->path, prefix) && (leaf || a->propagate)) {
				int p = priority(cfg, a, subject);
				best = p > best ? p : best;
			}
		}
		if (best) {
			privset_t set = 0;
			bool noaccess = false;
			for (size_t i = 0; i < cfg->n_acls; i++) {
				const struct uc_acl *a = &cfg->acls[i];
				if (strcmp(a->path, prefix) || !(leaf || a->propagate) ||
				    priority(cfg, a, subject) != best)
					continue;
				privset_t p = 0;
				usercfg_role_privs(cfg, a->roleid, &p);
				set |= p;
				noaccess |= !strcmp(a->roleid, "NoAccess");
			}
			*ret_noaccess = noaccess;
			return noaccess ? 0 : set;
		}
		if (!strcmp(prefix, "/"))
			break;
		char *slash = strrchr(prefix, '/');
		if (slash == prefix)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	*ret_noaccess = false;
	return 0;
}

static privset_t
model_privs(const struct usercfg *cfg, const char *subject, const char *path)
{
	if (!acl_subject_active(cfg, subject, NOW))
		return 0;
	bool na;
	const char *bang = strrchr(subject, '!');
	if (!bang)
		return model_walk(cfg, subject, path, &na);
	char user[64];
	snprintf(user, sizeof(user), "%.*s", (int)(bang - subject), subject);
	privset_t u = model_walk(cfg, user, path, &na);
	if (!usercfg_find_token(cfg, subject)->privsep)
		return u;
	return u & model_walk(cfg, subject, path, &na);
}

/* ---- properties ------------------------------------------------------------------------- */

static char subjects[N_USERS * (N_TOKENS + 1)][64];

static void
init_subjects(void)
{
	size_t k = 0;
	for (int u = 0; u < N_USERS; u++) {
		snprintf(subjects[k++], 64, "%s", users[u]);
		for (int t = 0; t < N_TOKENS; t++)
			snprintf(subjects[k++], 64, "%s!%s", users[u], tokens[t]);
	}
}

static struct usercfg *
with_extra_lines(const struct usercfg *cfg, const char *lines)
{
	char *text = usercfg_format(cfg);
	assert_non_null(text);
	char *all = xasprintf("%s%s", text, lines);
	struct usercfg *out;
	assert_int_equal(usercfg_parse(all, &out), 0);
	free(all);
	free(text);
	return out;
}

static const char *
parent_of(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "%s", path);
	char *slash = strrchr(buf, '/');
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	return buf;
}

static bool
has_applicable_entry(const struct usercfg *cfg, const char *subject, const char *path)
{
	for (size_t i = 0; i < cfg->n_acls; i++)
		if (!strcmp(cfg->acls[i].path, path) && priority(cfg, &cfg->acls[i], subject))
			return true;
	return false;
}

static void
check_config(const struct usercfg *cfg, size_t *ret_checked)
{
	for (size_t p = 0; p < N_PATHS; p++) {
		const char *path = paths[p];
		for (size_t s = 0; s < sizeof(subjects) / sizeof(subjects[0]); s++) {
			const char *sub = subjects[s];
			privset_t got = acl_privs(cfg, sub, path, NOW);
			privset_t want = model_privs(cfg, sub, path);
			if (!in_pool(path)) {
				if (got != want) {
					char *text = usercfg_format(cfg);
					fail_msg("%s on %s: got %llx want %llx\n%s", sub, path,
					         (unsigned long long)got, (unsigned long long)want,
					         text);
				}
			} else {
				/* pools only add, or take all away with a pool NoAccess */
				assert_true(got == 0 || (got & want) == want);
			}
			(*ret_checked)++;

			/* NoAccess cancels: the walk's verdict leaves nothing */
			bool *prop;
			char **r = acl_roles(cfg, sub, path, &prop);
			if (r[0] && !strcmp(r[0], "NoAccess")) {
				assert_null(r[1]);
				assert_int_equal(got, 0);
			}
			acl_roles_free(r, prop);

			const char *bang = strrchr(sub, '!');
			if (bang) {
				char user[64];
				snprintf(user, sizeof(user), "%.*s", (int)(bang - sub), sub);
				privset_t u = acl_privs(cfg, user, path, NOW);
				/* a token never exceeds its user; without privsep it is the user */
				assert_int_equal(got & ~u, 0);
				if (!usercfg_find_token(cfg, sub)->privsep &&
				    acl_subject_active(cfg, sub, NOW))
					assert_int_equal(got, u);
			}
		}
	}
}

/* Adding entries the subject outranks, or above a level that decides, changes nothing. */
static void
check_metamorphic(const struct usercfg *cfg)
{
	const char *path = paths[1 + rnd(N_PATHS - 1)];
	const char *user = users[rnd(N_USERS)];
	privset_t before = acl_privs(cfg, user, path, NOW);
	char line[512], pbuf[128];

	/* user beats group: a group entry beside an applicable user entry at the leaf */
	bool user_at_leaf = false;
	for (size_t i = 0; i < cfg->n_acls; i++)
		user_at_leaf |= cfg->acls[i].type == UC_SUBJECT_USER &&
		                !strcmp(cfg->acls[i].ugid, user) &&
		                !strcmp(cfg->acls[i].path, path);
	for (int g = 0; g < N_GROUPS && user_at_leaf; g++) {
		if (!member(cfg, groups[g], user))
			continue;
		snprintf(line, sizeof(line), "acl:%u:%s:@%s:Extra:\n", rnd(2), path, groups[g]);
		struct usercfg *m = with_extra_lines(cfg, line);
		assert_int_equal(acl_privs(m, user, path, NOW), before);
		usercfg_free(m);
	}

	/* deeper beats higher: with an entry deciding at the leaf, ancestors do not matter
	 * (pool members excepted: the "/" entry may reach them through /pool/p1) */
	if (has_applicable_entry(cfg, user, path) && !in_pool(path)) {
		snprintf(line, sizeof(line), "acl:1:%s:%s:Administrator:\nacl:1:/:@g1:Extra:\n",
		         parent_of(path, pbuf, sizeof(pbuf)), user);
		struct usercfg *m = with_extra_lines(cfg, line);
		assert_int_equal(acl_privs(m, user, path, NOW), before);
		usercfg_free(m);
	}

	/* a non-propagating entry on the parent never reaches the child (new keys only: an
	 * existing entry with the same key would just lose its propagate flag) */
	parent_of(path, pbuf, sizeof(pbuf));
	bool taken = false;
	for (size_t i = 0; i < cfg->n_acls; i++)
		taken |= !strcmp(cfg->acls[i].path, pbuf) && !strcmp(cfg->acls[i].ugid, "g2") &&
		         !strcmp(cfg->acls[i].roleid, "NoAccess");
	snprintf(line, sizeof(line), "acl:0:%s:%s:Extra:\nacl:0:%s:@g2:%s:\n", pbuf, user, pbuf,
	         taken ? "Extra" : "NoAccess");
	struct usercfg *m = with_extra_lines(cfg, line);
	if (!in_pool(path))
		assert_int_equal(acl_privs(m, user, path, NOW), before);
	usercfg_free(m);
}

static void
test_random_configs_satisfy_pve_acl_properties(void **state)
{
	rng_state = 0x9e3779b97f4a7c15ULL;
	init_subjects();
	size_t checked = 0, nonzero = 0;
	for (int i = 0; i < N_CONFIGS; i++) {
		struct usercfg *cfg = random_config();
		check_config(cfg, &checked);
		check_metamorphic(cfg);
		for (size_t s = 0; s < 3; s++)
			nonzero += acl_privs(cfg, subjects[s * 3], "/vms/101", NOW) != 0;
		usercfg_free(cfg);
	}
	assert_int_equal(checked, (size_t)N_CONFIGS * N_PATHS * N_USERS * (N_TOKENS + 1));
	/* the generator must produce granted privileges often, or the checks prove little */
	assert_true(nonzero > N_CONFIGS / 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_configs_satisfy_pve_acl_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
