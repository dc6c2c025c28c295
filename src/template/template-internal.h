/* What the template module's files share: the recipe table, the build context and the
 * helpers builders use (running programs, writing files inside the root being built). */
#pragma once

#include "template/template.h"

#include <sys/types.h>

struct template_build {
	const struct template_info *info;
	const struct template_hooks *hooks;
	const char *rootfs; /* absolute path of the root being built (exists, empty) */
	int rootfd;         /* O_PATH|O_DIRECTORY descriptor of rootfs */
};

struct template_recipe {
	const char *name;     /* short name, unique */
	const char *revision; /* Berth's recipe revision, part of the version: "berth1" */
	const char *package, *os, *headline, *description, *infopage;
	/* tar the root with every file owned by 0:0 (a root built from scratch) */
	bool root_owned;
	/* Resolve the host-dependent fields (version, template, source, location); -ENOENT
	 * when the tool it needs is missing here (the entry is then not listed). */
	int (*probe)(struct template_info *t, struct error *err);
	/* Fill b->rootfs. */
	int (*build)(struct template_build *b, struct error *err);
};

extern const struct template_recipe template_recipe_busybox;
extern const struct template_recipe template_recipe_debian12;
/* All recipes, NULL-terminated. */
extern const struct template_recipe *const template_recipes[];

#define TEMPLATE_MAINTAINER "Berth <berth@localhost>"
#define TEMPLATE_SOURCE     "berth-build"

/* printf into the task log */
void build_log(const struct template_hooks *h, const char *fmt, ...) _printf_(2, 3);
bool build_interrupted(const struct template_hooks *h);

/* The absolute path of a program in the fixed PATH builders use; NULL when not installed. */
char *build_find_program(const char *name);

/* Run argv (no shell; argv[0] looked up in a fixed PATH with sbin directories) with a clean
 * environment (PATH, LC_ALL=C, DEBIAN_FRONTEND=noninteractive, proxy variables kept, plus
 * `env`, NULL-terminated, may be NULL). Its stdout and stderr go to the log line by line, or
 * stdout into *ret_out when ret_out is not NULL. A stop request ends the program (SIGTERM,
 * then SIGKILL) and returns -EINTR "received interrupt". */
int build_run(const struct template_hooks *h, const char *const *argv, const char *const *env,
              char **ret_out, struct error *err);

/* Files inside the root: `path` is relative to rootfd; no component may be a symlink (each
 * is opened O_NOFOLLOW), a final symlink is replaced. Modes are set exactly (no umask). */
int root_mkdir(int rootfd, const char *path, mode_t mode, struct error *err);
/* mkdir -p of the parent directories of path (0755). */
int root_mkparents(int rootfd, const char *path, struct error *err);
int root_write(int rootfd, const char *path, const char *text, mode_t mode, struct error *err);
int root_symlink(int rootfd, const char *target, const char *path, struct error *err);
/* Remove path (a file, or a directory tree with everything in it); absent is fine. */
int root_remove(int rootfd, const char *path, struct error *err);

/* Remove the directory tree at path: mounts below it are detached first, and the removal
 * never leaves path's filesystem nor follows symlinks. */
int remove_tree(const char *path, struct error *err);
