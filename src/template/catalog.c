/* The template catalog: the recipes Berth can build, resolved on this host into PVE's
 * aplinfo entries. */
#include "template/template-internal.h"

#include "basic/strbuf.h"

const struct template_recipe *const template_recipes[] = {
	&template_recipe_busybox,
	&template_recipe_debian12,
	NULL,
};

const char *
template_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "i386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64el";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
#error "unknown architecture: add its Debian name"
#endif
}

static void
info_done(struct template_info *t)
{
	free(t->template);
	free(t->version);
	free(t->source);
	free(t->location);
}

int
template_catalog(struct template_info **ret, size_t *ret_n, struct error *err)
{
	size_t n = 0;
	struct template_info *list = xcalloc(ARRAY_SIZE(template_recipes), sizeof(*list));
	for (const struct template_recipe *const *rp = template_recipes; *rp; rp++) {
		const struct template_recipe *rc = *rp;
		struct template_info *t = &list[n];
		*t = (struct template_info){
			.recipe = rc,
			.name = rc->name,
			.package = rc->package,
			.os = rc->os,
			.section = "system",
			.type = "lxc",
			.headline = rc->headline,
			.description = rc->description,
			.maintainer = TEMPLATE_MAINTAINER,
			.infopage = rc->infopage,
			.architecture = template_arch(),
		};
		int r = rc->probe(t, err);
		if (r == -ENOENT) { /* its tool is not installed here: not offered */
			info_done(t);
			error_clear(err);
			continue;
		}
		if (r < 0) {
			info_done(t);
			template_catalog_free(list, n);
			return r;
		}
		n++;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

void
template_catalog_free(struct template_info *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		info_done(&list[i]);
	free(list);
}

const struct template_info *
template_catalog_find(const struct template_info *list, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (streq(list[i].template, name) || streq(list[i].name, name))
			return &list[i];
	return NULL;
}

json_t *
template_info_json(const struct template_info *t)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	                 "template", t->template, "package", t->package, "version", t->version,
	                 "os", t->os, "section", t->section, "type", t->type, "headline",
	                 t->headline, "description", t->description, "architecture",
	                 t->architecture, "source", t->source, "maintainer", t->maintainer,
	                 "infopage", t->infopage, "location", t->location);
}
