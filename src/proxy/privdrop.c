/* Dropping root for good once the listener is bound and the TLS key is loaded. */
#include "proxy-internal.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>

int
privdrop_lookup(const char *user, uid_t *ret_uid, gid_t *ret_gid, struct error *e)
{
	int fell_back = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		pw = getpwnam("nobody");
		fell_back = 1;
	}
	if (!pw)
		return error_set(e, ENOENT, "neither user '%s' nor 'nobody' exists", user);
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		return error_set(e, EPERM, "refusing to run the proxy as '%s' (uid or gid 0)",
		                 pw->pw_name);
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	return fell_back;
}

int
privdrop_apply(uid_t uid, gid_t gid, pid_t parent, struct error *e)
{
	bool was_root = geteuid() == 0;
	if (was_root) {
		/* groups first: after setuid we could no longer drop root's supplementary groups */
		if (setgroups(0, NULL) < 0)
			return error_errno(e, negative_errno(), "setgroups");
		if (setresgid(gid, gid, gid) < 0)
			return error_errno(e, negative_errno(), "setgid %u", (unsigned)gid);
		if (setresuid(uid, uid, uid) < 0)
			return error_errno(e, negative_errno(), "setuid %u", (unsigned)uid);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_errno(e, negative_errno(), "PR_SET_NO_NEW_PRIVS");
	/* changing credentials cleared the parent-death signal */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		return error_errno(e, negative_errno(), "PR_SET_PDEATHSIG");
	if (parent > 0 && getppid() != parent)
		return error_set(e, ESRCH, "the parent process is gone");
	/* A proxy that could become root again would void the privilege separation. */
	if (setuid(0) == 0 || seteuid(0) == 0)
		abort();
	if (was_root && (setgid(0) == 0 || setegid(0) == 0))
		abort();
	return 0;
}
